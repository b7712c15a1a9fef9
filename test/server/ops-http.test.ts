/**
 * The operations endpoint's route seam: routes added by the composition root are matched by exact
 * path or by prefix, see the query, headers and method, answer HEAD without a body, never take the
 * endpoint's own paths, and a route that fails is answered 500 and logged.
 */
import { silentLogger } from '../../src/logger.js';
import { CaMetrics } from '../../src/metrics/index.js';
import {
  OpsHttpServer,
  jsonResponse,
  type OpsRequest,
  type OpsRoute,
} from '../../src/server/index.js';

describe('OpsHttpServer routes', () => {
  const seen: OpsRequest[] = [];
  const routes: OpsRoute[] = [
    {
      path: '/exact',
      handle: (request) => {
        seen.push(request);
        return Promise.resolve({
          status: 200,
          headers: { 'content-type': 'text/plain' },
          body: 'exact\n',
        });
      },
    },
    {
      path: '/v1/things/',
      handle: (request) =>
        Promise.resolve(
          jsonResponse(200, {
            path: request.path,
            query: Object.fromEntries(request.query),
            accept: request.header('Accept') ?? null,
            method: request.method,
          }),
        ),
    },
    { path: '/broken', handle: () => Promise.reject(new Error('boom')) },
  ];
  let server: OpsHttpServer;
  let base: string;

  beforeAll(async () => {
    server = new OpsHttpServer(
      new CaMetrics({ collectProcessMetrics: false }),
      () => ({ ready: true, checks: {}, details: {} }),
      silentLogger(),
      { listen: '127.0.0.1:0', routes },
    );
    await server.start();
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());

  it.each([
    ['/exact', 200],
    ['/exact/', 404],
    ['/exactly', 404],
    ['/v1/things/a', 200],
    ['/v1/things', 404],
    ['/nothing', 404],
    ['/healthz', 200],
  ])('GET %s answers %i', async (path, status) => {
    expect((await fetch(`${base}${path}`)).status).toBe(status);
  });

  it('hands a route the path, query, headers and method', async () => {
    const response = await fetch(`${base}/v1/things/x?a=1&b=two`, {
      headers: { accept: 'application/x-pem-file' },
    });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      path: '/v1/things/x',
      query: { a: '1', b: 'two' },
      accept: 'application/x-pem-file',
      method: 'GET',
    });
  });

  it('answers HEAD with the headers only', async () => {
    const response = await fetch(`${base}/exact`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('');
    expect(seen.at(-1)?.method).toBe('HEAD');
  });

  it('refuses other methods before any route sees them', async () => {
    const before = seen.length;
    expect((await fetch(`${base}/exact`, { method: 'POST' })).status).toBe(405);
    expect(seen).toHaveLength(before);
  });

  it('answers 500 when a route fails', async () => {
    expect((await fetch(`${base}/broken`)).status).toBe(500);
  });

  it.each(['/metrics', '/readyz', 'relative'])('refuses a route on %s', (path) => {
    expect(
      () =>
        new OpsHttpServer(
          new CaMetrics({ collectProcessMetrics: false }),
          () => ({ ready: true, checks: {}, details: {} }),
          silentLogger(),
          { listen: '127.0.0.1:0', routes: [{ path, handle: () => Promise.reject(new Error()) }] },
        ),
    ).toThrow(TypeError);
  });
});
