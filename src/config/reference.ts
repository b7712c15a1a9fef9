/**
 * The configuration reference as a Markdown table, generated from the settings table. The README
 * embeds it between markers and a test keeps the two identical.
 *
 * @module
 */
import { OPTIONS, envName, flagName } from './options.js';

/** One Markdown table of every setting of `meshca serve`. */
export function configurationReference(): string {
  const rows = OPTIONS.map((option) => {
    const fallback =
      option.default === undefined ||
      option.default === '' ||
      (Array.isArray(option.default) && option.default.length === 0)
        ? '—'
        : `\`${Array.isArray(option.default) ? option.default.join(',') : String(option.default)}\``;
    const flag =
      option.kind === 'boolean'
        ? `\`--${flagName(option.key)}\` / \`--no-${flagName(option.key)}\``
        : `\`--${flagName(option.key)}\``;
    return `| \`${option.key}\` | ${flag} | \`${envName(option.key)}\` | ${option.kind} | ${fallback} | ${option.help.replaceAll('|', '\\|')} |`;
  });
  return [
    '| key | flag | environment | type | default | meaning |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
