/**
 * Rewrites the README's configuration reference from the settings tables (`npm run
 * readme:config`), then lets prettier lay the table out. test/config/readme.test.ts checks it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationReference } from '../../src/config/index.js';
import { REPO_ROOT } from './environment.js';

const path = join(REPO_ROOT, 'README.md');
const readme = readFileSync(path, 'utf8');
const updated = readme.replace(
  /(<!-- configuration-reference:start -->\n)[\s\S]*?(\n<!-- configuration-reference:end -->)/,
  (_match, start: string, end: string) => `${start}\n${configurationReference()}\n${end}`,
);
writeFileSync(path, updated);
execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'prettier'), ['--write', path], {
  stdio: 'inherit',
});
