/**
 * The README's configuration reference is generated from the settings table; this keeps it so.
 * On failure, paste the printed table between the README's configuration-reference markers.
 *
 * The comparison ignores Markdown table layout: `prettier --check .` (npm run lint) pads the
 * README's table cells, so the README cannot hold the generator's compact text byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationReference } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/environment.js';

/** A Markdown table without layout: cells trimmed, separator rows as `---`, no blank lines. */
function tableContent(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim())
        .map((cell) => (/^:?-+:?$/.test(cell) ? '---' : cell))
        .join('|'),
    )
    .join('\n');
}

it('README embeds the current configuration reference', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const match =
    /<!-- configuration-reference:start -->\n([\s\S]*?)\n<!-- configuration-reference:end -->/.exec(
      readme,
    );
  expect(match).not.toBeNull();
  const expected = configurationReference();
  const actual = tableContent(match![1]!);
  if (actual !== tableContent(expected)) {
    console.log(`README configuration reference is stale; expected:\n${expected}`);
  }
  expect(actual).toBe(tableContent(expected));
});
