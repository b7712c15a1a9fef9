/**
 * A real kube-apiserver + etcd for a bench section (../shared/tools/kube, on free ports, without
 * kube-controller-manager), and a client to fill it.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeClient } from '../src/kube/index.js';

/** A running API server. */
export interface BenchKube {
  readonly kubeconfig: string;
  readonly client: KubeClient;
  /** Stops the API server and etcd and wipes their state. */
  stop(): Promise<void>;
}

/** Starts an API server, or answers why it cannot (the section then says it skipped). */
export function startBenchKube(): BenchKube | { readonly unavailable: string } {
  const shared = resolve('..', 'shared', 'tools', 'kube');
  const tools =
    process.env['MESHCA_KUBE_TOOLS'] ??
    (existsSync(join(shared, 'start.sh')) ? shared : resolve('test', 'kube-tools'));
  const state = mkdtempSync(join(tmpdir(), 'meshca-bench-kube-'));
  const etcdPort = 20000 + Math.floor(Math.random() * 20000);
  const started = spawnSync('bash', [join(tools, 'start.sh'), state], {
    env: {
      ...process.env,
      ETCD_PORT: String(etcdPort),
      APISERVER_PORT: String(etcdPort + 2),
      WITH_KCM: '0',
    },
    encoding: 'utf8',
  });
  if (started.status !== 0) {
    return {
      unavailable: `cannot start kube-apiserver (${(started.stdout + started.stderr).trim().split('\n').at(-1) ?? ''})`,
    };
  }
  const kubeconfig = join(state, 'admin.kubeconfig');
  const client = new KubeClient({
    connection: { mode: 'kubeconfig', path: kubeconfig },
    maxSockets: 32,
  });
  return {
    kubeconfig,
    client,
    stop: async () => {
      await client.close();
      spawnSync('bash', [join(tools, 'stop.sh'), state, '--wipe']);
    },
  };
}

/** Runs `task(0..count-1)` with `concurrency` in flight. */
export async function pool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
