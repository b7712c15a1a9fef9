// Builds the web console (src/console/web/) into dist/console-ui/: one script and one stylesheet,
// bundled and minified by esbuild with uPlot inside (nothing is fetched from elsewhere: the
// console works in an air-gapped cluster), named by content hash so that meshca serves them as
// immutable, and the index.html that loads them (no inline script or style: the
// Content-Security-Policy allows 'self' only). Run by `npm run build`, so by `npm ci`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'console-ui');
const assets = join(out, 'assets');

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });
const result = await build({
  entryPoints: {
    console: join(root, 'src', 'console', 'web', 'main.ts'),
    style: join(root, 'src', 'console', 'web', 'console.css'),
  },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome109', 'firefox115', 'safari16'],
  entryNames: '[name]-[hash]',
  outdir: assets,
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
const names = readdirSync(assets);
const script = names.find((name) => name.endsWith('.js'));
const style = names.find((name) => name.endsWith('.css'));
if (
  script === undefined ||
  style === undefined ||
  Object.keys(result.metafile.outputs).length !== 2
) {
  throw new Error(`console build: expected one script and one stylesheet, got ${names.join(', ')}`);
}
writeFileSync(
  join(out, 'index.html'),
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="referrer" content="no-referrer" />
    <link rel="icon" href="data:," />
    <title>meshca console</title>
    <link rel="stylesheet" href="assets/${basename(style)}" />
    <script defer src="assets/${basename(script)}"></script>
  </head>
  <body data-state="loading">
    <noscript>The meshca console needs JavaScript.</noscript>
  </body>
</html>
`,
);
