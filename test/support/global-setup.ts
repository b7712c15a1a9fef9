/**
 * Builds the web console, and starts one real kube-apiserver + etcd (../shared/tools/kube) for
 * the whole run, when present,
 * and tells the test workers through the environment: MESHCA_TEST_KUBECONFIG when it runs,
 * MESHCA_TEST_KUBE_SKIP with the reason when it cannot. In CI (`CI=true`) a missing component
 * fails the run instead: `.ci/run` installs it.
 *
 * Jest loads this file outside the ESM test runtime, so it imports nothing of ours.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Jest runs from the repository root (npm test).
const REPO_ROOT = process.cwd();

function unavailableReason(tools: string): string | undefined {
  const cache = process.env['KUBE_CACHE'] ?? '/var/cache/meshca-kube';
  if (!existsSync(join(tools, 'start.sh'))) return `no kube tools at ${tools}`;
  if (!existsSync(join(cache, 'bin', 'kube-apiserver'))) {
    return `kube-apiserver not built; run ${join(tools, 'setup.sh')}`;
  }
  if (spawnSync('sh', ['-c', 'command -v etcd']).status !== 0) return 'etcd is not installed';
  return undefined;
}

/** A port that is free now, along with the next one (etcd's peer port is its client port + 1). */
async function freePortPair(): Promise<number> {
  const { createServer } = await import('node:net');
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => {
        resolve(false);
      });
      server.listen(port, '127.0.0.1', () => {
        server.close(() => {
          resolve(true);
        });
      });
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    if ((await free(port)) && (await free(port + 1))) return port;
  }
  throw new Error('no free port pair for the test kube-apiserver');
}

export default async function globalSetup(): Promise<void> {
  // Every log line the workers see lands here (test/support/log-capture.ts); the teardown scans
  // it for secrets. One directory per run, inherited by the workers through the environment.
  process.env['MESHCA_TEST_LOG_DIR'] = mkdtempSync(join(tmpdir(), 'meshca-test-logs-'));
  // The web console as this checkout's sources build it (dist/console-ui/), once, before any
  // worker starts a meshca that serves it: building it from a test could swap the files under
  // another test's meshca.
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-console.js')]);
  // The workspace's ../shared/tools/kube when this clone sits next to it, else our copy.
  const shared = resolve(REPO_ROOT, '..', 'shared', 'tools', 'kube');
  const tools =
    process.env['MESHCA_KUBE_TOOLS'] ??
    (existsSync(join(shared, 'start.sh')) ? shared : resolve(REPO_ROOT, 'test', 'kube-tools'));
  process.env['MESHCA_KUBE_TOOLS'] = tools;
  // An API server started elsewhere (MESHCA_TEST_KUBECONFIG) is used as is, and left running.
  if (process.env['MESHCA_TEST_KUBECONFIG'] !== undefined) return;
  if (process.env['MESHCA_TEST_KUBE'] === 'off') {
    process.env['MESHCA_TEST_KUBE_SKIP'] = 'MESHCA_TEST_KUBE=off';
    return;
  }
  const reason = unavailableReason(tools);
  if (reason !== undefined) {
    if (process.env['CI'] === 'true') {
      throw new Error(`integration tests need the real kube-apiserver: ${reason}`);
    }
    process.env['MESHCA_TEST_KUBE_SKIP'] = reason;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'meshca-kube-'));
  // Free ports, so that several test runs (and the multi-cluster test's second cluster) coexist.
  const output = execFileSync(join(tools, 'start.sh'), [dir], {
    encoding: 'utf8',
    env: {
      ...process.env,
      ETCD_PORT: String(await freePortPair()),
      APISERVER_PORT: String(await freePortPair()),
    },
  });
  const kubeconfig = /KUBECONFIG=(\S+)/.exec(output)?.[1];
  if (kubeconfig === undefined) throw new Error(`start.sh printed no KUBECONFIG:\n${output}`);
  process.env['MESHCA_TEST_KUBECONFIG'] = kubeconfig;
  process.env['MESHCA_TEST_KUBE_DIR'] = dir;
}
