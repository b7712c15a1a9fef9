/**
 * Where the real components the integration tests need live, and whether they are present.
 * In CI (`CI=true`) a missing component is a failure, never a skip: `.ci/run` installs them.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Debian's python3 with python3-grpcio (not a pyenv shim that lacks it). */
export const PYTHON = process.env['MESHCA_TEST_PYTHON'] ?? '/usr/bin/python3';

/** True in CI, where every real component must be present. */
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/**
 * The kubeconfig of the real kube-apiserver global-setup started, or undefined with the reason
 * in {@link kubeSkipReason}.
 */
export function testKubeconfig(): string | undefined {
  return process.env['MESHCA_TEST_KUBECONFIG'];
}

/** Why the integration tests against the real kube-apiserver are skipped here. */
export function kubeSkipReason(): string | undefined {
  return process.env['MESHCA_TEST_KUBECONFIG'] === undefined
    ? (process.env['MESHCA_TEST_KUBE_SKIP'] ?? 'kube-apiserver not started')
    : undefined;
}

/** Why the Python gRPC client cannot be used here, or undefined when it can. */
export function pythonGrpcUnavailableReason(): string | undefined {
  const result = spawnSync(PYTHON, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
  return result.status === 0
    ? undefined
    : `${PYTHON} lacks grpcio/protobuf (apt-get install python3-grpcio python3-protobuf)`;
}

/** Why openssl cannot be used here, or undefined when it can. */
export function opensslUnavailableReason(): string | undefined {
  return spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is not installed';
}
