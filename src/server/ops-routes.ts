/**
 * The seam through which other concerns add routes to the operations HTTP endpoint (the CRL, the
 * inventory API) without the endpoint knowing them: the composition root hands each route to
 * {@link OpsHttpServer}, which matches it by path and writes what it answers. A route sees a small
 * request (method, path, query, headers, a signal that aborts when the client goes away) and
 * returns a whole response; it never touches Node's HTTP objects.
 *
 * @module
 */

/** What a route sees of a request. */
export interface OpsRequest {
  /** Routes only ever see GET and HEAD (the endpoint refuses the rest with 405). */
  readonly method: 'GET' | 'HEAD';
  readonly path: string;
  readonly query: URLSearchParams;
  /** A header's value (the first one), by case-insensitive name. */
  header(name: string): string | undefined;
  /** Aborts when the client disconnects or the endpoint shuts down. */
  readonly signal: AbortSignal;
}

/** What a route answers; the endpoint omits the body of a HEAD request. */
export interface OpsResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string | Uint8Array;
}

/** One route of the operations endpoint. */
export interface OpsRoute {
  /**
   * An exact path (`/crl`), or a prefix when it ends with `/` (`/v1/inventory/` matches
   * `/v1/inventory/identities`). The endpoint's own paths (`/healthz`, `/readyz`, `/metrics`)
   * cannot be taken.
   */
  readonly path: string;
  /** Never rejects on bad input (answer 4xx); a rejection is logged and answered 500. */
  handle(request: OpsRequest): Promise<OpsResponse>;
}

/** True when `route` serves `path`. */
export function routeMatches(route: OpsRoute, path: string): boolean {
  return route.path.endsWith('/') ? path.startsWith(route.path) : path === route.path;
}

/** A JSON answer (one line, newline-terminated). */
export function jsonResponse(
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): OpsResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: `${JSON.stringify(value)}\n`,
  };
}
