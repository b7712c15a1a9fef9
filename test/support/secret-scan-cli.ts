/**
 * `tsx test/support/secret-scan-cli.ts DIR`: scans every file in DIR with {@link scanText} and
 * exits 1 listing the findings (kind, file, line, a short excerpt), 0 when there are none. The
 * Jest global teardown runs it over the run's captured logs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scanText } from './secret-scan.js';

const [dir] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: secret-scan-cli.ts DIR\n');
  process.exit(2);
}
const files = readdirSync(dir).filter((name) => name.endsWith('.log'));
let bytes = 0;
const report: string[] = [];
for (const name of files) {
  const text = readFileSync(join(dir, name), 'utf8');
  bytes += text.length;
  for (const finding of scanText(text)) {
    report.push(`${finding.kind} in ${name}:${finding.line}: ${finding.excerpt}`);
  }
}
if (report.length > 0) {
  process.stderr.write(
    `secret scan: ${report.length} secret(s) in the test logs:\n${report.slice(0, 50).join('\n')}\n`,
  );
  process.exit(1);
}
process.stdout.write(`secret scan: ${files.length} log file(s), ${bytes} characters, no secrets\n`);
