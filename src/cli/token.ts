/**
 * `meshca token`: prints a service-account token from the development issuer, shaped like a
 * kubelet-projected token (audience `istio-ca` by default), for trying meshca without a cluster.
 *
 * @module
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { systemClock } from '../clock.js';
import { parseDurationMs } from '../config/index.js';
import { issueDevToken } from '../devmode/index.js';
import { UsageError, type CommandIo } from './io.js';

export const TOKEN_USAGE = `Usage: meshca token --namespace NS --service-account SA [options]

Prints a token from the development token issuer in the state directory.

Options:
  -n, --namespace NS         namespace of the service account (required)
  -s, --service-account SA   service account name (required)
      --audience A           token audience; repeatable (default: istio-ca)
      --ttl DURATION         lifetime, e.g. 1h or 3600 (default: 1h)
      --pod NAME             bind the token to a pod, as the kubelet's projected tokens are
                             (adds the kubernetes.io.pod claim); also --pod-name
      --pod-uid UID          the bound pod's UID (with --pod)
      --state-dir DIR        state directory of "meshca serve" (default: $MESHCA_STATE_DIR or ./.meshca)
`;

/** Runs `meshca token`. */
export async function tokenCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      namespace: { type: 'string', short: 'n' },
      'service-account': { type: 'string', short: 's' },
      audience: { type: 'string', multiple: true },
      ttl: { type: 'string' },
      pod: { type: 'string' },
      'pod-name': { type: 'string' },
      'pod-uid': { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(TOKEN_USAGE);
    return 0;
  }
  const namespace = values.namespace;
  const serviceAccount = values['service-account'];
  if (!namespace || !serviceAccount) {
    throw new UsageError('meshca token: --namespace and --service-account are required');
  }
  let ttlSeconds: number;
  try {
    ttlSeconds = Math.round(parseDurationMs(values.ttl ?? '1h') / 1000);
  } catch (error) {
    throw new UsageError(`meshca token: --ttl: ${(error as Error).message}`);
  }
  if (ttlSeconds < 1) throw new UsageError('meshca token: --ttl must be at least 1s');
  if (values.pod !== undefined && values['pod-name'] !== undefined) {
    throw new UsageError('meshca token: give --pod or --pod-name, not both');
  }
  const podName = values.pod ?? values['pod-name'];
  const podUid = values['pod-uid'];
  if ((podName === undefined) !== (podUid === undefined)) {
    throw new UsageError('meshca token: --pod and --pod-uid go together');
  }
  const stateDir = resolve(
    io.cwd,
    values['state-dir'] ?? io.env['MESHCA_STATE_DIR'] ?? './.meshca',
  );
  const token = await issueDevToken(
    stateDir,
    {
      namespace,
      serviceAccount,
      audiences: values.audience ?? ['istio-ca'],
      ttlSeconds,
      ...(podName !== undefined && podUid !== undefined
        ? { pod: { name: podName, uid: podUid } }
        : {}),
    },
    systemClock,
  );
  io.stdout.write(`${token}\n`);
  return 0;
}
