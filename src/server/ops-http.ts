/**
 * The operations endpoint on its own port, so probes and scrapes never queue behind issuance
 * traffic (istio-csr's /readyz starved under load; ISTIO-CSR.md §7):
 * - `/healthz`: the process is alive and its event loop turns;
 * - `/readyz`: every readiness check passes (CA loaded, roots loaded, gRPC listening, Kubernetes
 *   reachable when configured); the body lists each check;
 * - `/metrics`: Prometheus exposition;
 * - the routes other concerns add through {@link OpsRoute} (`ops-routes.ts`): the CRL, the
 *   inventory API.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import type { Part, Readiness } from '../runtime/index.js';
import { routeMatches, type OpsRequest, type OpsRoute } from './ops-routes.js';

/** Options of {@link OpsHttpServer}. */
export interface OpsHttpOptions {
  /** `host:port`; port 0 picks a free port. */
  readonly listen: string;
  /** Routes added by the composition root, matched after the endpoint's own paths. */
  readonly routes?: readonly OpsRoute[];
}

const OWN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** Serves /healthz, /readyz and /metrics. */
export class OpsHttpServer implements Part {
  readonly name = 'ops-http';
  readonly #server: Server;
  readonly #readiness: () => Readiness;
  readonly #options: OpsHttpOptions;
  readonly #logger: Logger;
  readonly #routes: readonly OpsRoute[];
  /** Aborted at close, so that routes stop waiting. */
  readonly #closing = new AbortController();
  #port: number | undefined;

  /** @param readiness The state of every readiness check (the part runner's). */
  constructor(
    metrics: CaMetrics,
    readiness: () => Readiness,
    logger: Logger,
    options: OpsHttpOptions,
  ) {
    this.#options = options;
    this.#readiness = readiness;
    this.#logger = logger;
    this.#routes = options.routes ?? [];
    for (const route of this.#routes) {
      if (OWN_PATHS.has(route.path) || !route.path.startsWith('/')) {
        throw new TypeError(`ops route ${route.path} is not a free path`);
      }
    }
    this.#server = createServer((request, response) => {
      this.#route(metrics, request, response).catch((error: unknown) => {
        logger.error({ err: errorMessage(error) }, 'ops endpoint failed');
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
    });
  }

  /** The bound port, once started. */
  get port(): number {
    if (this.#port === undefined) throw new TypeError('ops endpoint not started');
    return this.#port;
  }

  async #route(
    metrics: CaMetrics,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> {
    // Only the path and query of the request line count (never a host: this is not a proxy).
    const url = URL.canParse(request.url ?? '/', 'http://ops.invalid')
      ? new URL(request.url ?? '/', 'http://ops.invalid')
      : undefined;
    if (url === undefined) {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('bad request\n');
      return;
    }
    const path = url.pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/healthz':
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz': {
        const state = this.#readiness();
        response
          .writeHead(state.ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(`${JSON.stringify(state)}\n`);
        return;
      }
      case '/metrics': {
        const { contentType, body } = await metrics.exposition();
        response.writeHead(200, { 'content-type': contentType }).end(body);
        return;
      }
      default: {
        const route = this.#routes.find((candidate) => routeMatches(candidate, path));
        if (route === undefined) {
          response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        await this.#serveRoute(route, request, response, url);
      }
    }
  }

  async #serveRoute(
    route: OpsRoute,
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
  ): Promise<void> {
    const gone = new AbortController();
    response.once('close', () => {
      gone.abort();
    });
    const opsRequest: OpsRequest = {
      method: request.method === 'HEAD' ? 'HEAD' : 'GET',
      path: url.pathname,
      query: url.searchParams,
      header: (name) => {
        const value = request.headers[name.toLowerCase()];
        return Array.isArray(value) ? value[0] : value;
      },
      signal: AbortSignal.any([gone.signal, this.#closing.signal]),
    };
    const answer = await route.handle(opsRequest);
    if (response.destroyed) return;
    response.writeHead(answer.status, answer.headers);
    response.end(request.method === 'HEAD' ? undefined : answer.body);
  }

  /** Starts listening. */
  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.#options.listen);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = (this.#server.address() as AddressInfo).port;
    this.#port = bound;
    this.#logger.info({ listen: this.#options.listen, port: bound }, 'ops HTTP listening');
  }

  /** Stops listening and closes idle keep-alive connections. */
  async close(): Promise<void> {
    this.#closing.abort();
    if (this.#port === undefined || !this.#server.listening) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeIdleConnections();
    });
  }
}

/** Splits `host:port` or `[v6]:port`. */
export function splitHostPort(address: string): { readonly host: string; readonly port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!match) throw new TypeError(`not host:port: ${address}`);
  return { host: match[1] ?? '', port: Number(match[2]) };
}
