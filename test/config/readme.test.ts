/**
 * The README's configuration reference is generated from the settings table; this keeps it so.
 * On failure, paste the printed table between the README's configuration-reference markers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationReference } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/environment.js';

it('README embeds the current configuration reference', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const match =
    /<!-- configuration-reference:start -->\n([\s\S]*?)\n<!-- configuration-reference:end -->/.exec(
      readme,
    );
  const expected = configurationReference();
  if (match?.[1] !== expected) {
    console.log(`README configuration reference is stale; expected:\n${expected}`);
  }
  expect(match?.[1]).toBe(expected);
});
