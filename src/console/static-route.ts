/**
 * The web console's files on the operations port, at `/ui/`: `index.html` and the hashed
 * script and stylesheet that `npm run build` writes to `dist/console-ui/` (see
 * `scripts/build-console.js`), read once at start-up and served from memory.
 *
 * The files are public: they hold no data (a browser cannot send a bearer token with a
 * navigation, so the page that asks for one must load without it). The data comes only from
 * `/v1/inventory/`, which checks the token on every request.
 *
 * Every answer carries a strict Content-Security-Policy (only this origin's script, style and
 * API; no inline code, no frames, no forms posted elsewhere), `nosniff`, and no referrer. Hashed
 * assets are immutable for a year; `index.html` is revalidated every time, so a new meshca's
 * assets are picked up at once.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpsRequest, OpsResponse, OpsRoute } from '../server/index.js';

/** Where the console lives on the operations port. */
export const CONSOLE_PATH = '/ui/';

/** The built console, relative to this module in `src/console/` and in `dist/console/` alike. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(
  new URL('../../dist/console-ui/', import.meta.url),
);

/** The console's Content-Security-Policy. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** One file, ready to send. */
interface ConsoleFile {
  readonly body: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

function contentType(name: string): string {
  const extension = name.slice(name.lastIndexOf('.'));
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}

/**
 * Reads the built console in `dir`: `index.html` and `assets/*`.
 *
 * @returns path (below `/ui/`) → file; empty when the console is not built.
 */
export function loadConsoleFiles(dir: string): ReadonlyMap<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return files;
  files.set('', {
    body: readFileSync(index),
    headers: { 'content-type': CONTENT_TYPES['.html'] ?? '', 'cache-control': 'no-cache' },
  });
  const assets = join(dir, 'assets');
  for (const name of existsSync(assets) ? readdirSync(assets) : []) {
    files.set(`assets/${name}`, {
      body: readFileSync(join(assets, name)),
      // The name carries the content's hash: a changed file is a new name.
      headers: {
        'content-type': contentType(name),
        'cache-control': 'public, max-age=31536000, immutable',
      },
    });
  }
  return files;
}

function text(status: number, body: string, headers: Record<string, string> = {}): OpsResponse {
  return {
    status,
    headers: {
      ...SECURITY_HEADERS,
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
    body,
  };
}

/**
 * The `/ui/` route (and `/ui`, which redirects to it).
 *
 * @param dir The built console (default: `dist/console-ui/` of this package).
 */
export function consoleRoutes(dir: string = DEFAULT_CONSOLE_DIR): readonly OpsRoute[] {
  const files = loadConsoleFiles(dir);
  return [
    {
      path: '/ui',
      handle: () => Promise.resolve(text(308, 'see /ui/\n', { location: CONSOLE_PATH })),
    },
    {
      path: CONSOLE_PATH,
      handle: (request: OpsRequest) => {
        if (files.size === 0) {
          return Promise.resolve(
            text(
              503,
              'the console is not built: run `npm run build` (it writes dist/console-ui/)\n',
            ),
          );
        }
        const file = files.get(request.path.slice(CONSOLE_PATH.length));
        if (file === undefined) return Promise.resolve(text(404, 'not found\n'));
        return Promise.resolve({
          status: 200,
          headers: { ...SECURITY_HEADERS, ...file.headers },
          body: file.body,
        });
      },
    },
  ];
}
