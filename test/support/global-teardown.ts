/**
 * Runs the secret scan over every log line the run captured (test/support/log-capture.ts) and
 * fails the run on any token, private key or CSR found; then stops the kube-apiserver + etcd that
 * global-setup started. Imports nothing of ours: the scanner runs as its own process (through
 * tsx, since Jest loads this file outside the ESM test runtime).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

function scanLogs(): void {
  const dir = process.env['MESHCA_TEST_LOG_DIR'];
  if (dir === undefined) return;
  const scan = spawnSync(
    process.execPath,
    ['--import', 'tsx', join('test', 'support', 'secret-scan-cli.ts'), dir],
    { encoding: 'utf8' },
  );
  if (scan.status !== 0) {
    // Kept for inspection; the report names files and lines, never the secrets themselves.
    const report = scan.stderr || `the secret scan failed to run (status ${String(scan.status)})\n`;
    throw new Error(`${report}logs kept in ${dir}`);
  }
  process.stdout.write(scan.stdout);
  rmSync(dir, { recursive: true, force: true });
}

export default function globalTeardown(): void {
  try {
    scanLogs();
  } finally {
    const dir = process.env['MESHCA_TEST_KUBE_DIR'];
    const tools = process.env['MESHCA_KUBE_TOOLS'];
    if (dir !== undefined && tools !== undefined) {
      execFileSync(join(tools, 'stop.sh'), [dir, '--wipe'], { stdio: 'ignore' });
    }
  }
}
