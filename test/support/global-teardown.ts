/** Stops the kube-apiserver + etcd that global-setup started. Imports nothing of ours. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function globalTeardown(): void {
  const dir = process.env['MESHCA_TEST_KUBE_DIR'];
  const tools = process.env['MESHCA_KUBE_TOOLS'];
  if (dir === undefined || tools === undefined) return;
  execFileSync(join(tools, 'stop.sh'), [dir, '--wipe'], { stdio: 'ignore' });
}
