/**
 * The console's file route on its own: what it answers for the index, a hashed asset, a path it
 * does not have (traversal included), and a console that was never built; every answer with the
 * security headers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSOLE_CSP, consoleRoutes } from '../../src/console/index.js';
import type { OpsResponse, OpsRoute } from '../../src/server/index.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

function get(routes: readonly OpsRoute[], path: string): Promise<OpsResponse> {
  const route = routes.find((candidate) =>
    candidate.path.endsWith('/') ? path.startsWith(candidate.path) : path === candidate.path,
  );
  if (route === undefined) throw new Error(`no route for ${path}`);
  return route.handle({
    method: 'GET',
    path,
    query: new URLSearchParams(),
    header: () => undefined,
    signal: new AbortController().signal,
  });
}

describe('console routes', () => {
  const built = tempDir('meshca-console-files-');
  mkdirSync(join(built, 'assets'));
  writeFileSync(join(built, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(built, 'assets', 'console-ABCDEFGH.js'), 'void 0;');
  writeFileSync(join(built, 'assets', 'style-ABCDEFGH.css'), 'body{}');
  const routes = consoleRoutes(built);

  it.each([
    ['/ui/', 200, 'text/html; charset=utf-8', 'no-cache'],
    [
      '/ui/assets/console-ABCDEFGH.js',
      200,
      'text/javascript; charset=utf-8',
      'public, max-age=31536000, immutable',
    ],
    [
      '/ui/assets/style-ABCDEFGH.css',
      200,
      'text/css; charset=utf-8',
      'public, max-age=31536000, immutable',
    ],
    ['/ui/assets/other.js', 404, 'text/plain; charset=utf-8', 'no-store'],
    ['/ui/index.html', 404, 'text/plain; charset=utf-8', 'no-store'],
    ['/ui/../index.html', 404, 'text/plain; charset=utf-8', 'no-store'],
    ['/ui/assets/../../index.html', 404, 'text/plain; charset=utf-8', 'no-store'],
    ['/ui', 308, 'text/plain; charset=utf-8', 'no-store'],
  ])('GET %s answers %i, %s, %s', async (path, status, type, cache) => {
    const answer = await get(routes, path);
    expect(answer.status).toBe(status);
    expect(answer.headers).toMatchObject({
      'content-type': type,
      'cache-control': cache,
      'content-security-policy': CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
  });

  it('redirects /ui to /ui/', async () => {
    expect((await get(routes, '/ui')).headers?.['location']).toBe('/ui/');
  });

  it('says how to build a console that is not built', async () => {
    const answer = await get(consoleRoutes(tempDir('meshca-console-empty-')), '/ui/');
    expect(answer.status).toBe(503);
    expect(String(answer.body)).toContain('npm run build');
  });
});
