/**
 * The console's only way to data: `GET /v1/inventory/<view>` on the same origin, the inventory
 * API that `meshca inventory` mirrors. The bearer token the user pasted is kept in
 * `sessionStorage` (this tab only, gone when it closes; never in a cookie, so no other site can
 * make the browser send it) and sent in the `Authorization` header; without one, the request goes
 * without it, which meshca allows only on a loopback-bound port.
 *
 * @module
 */
import type { InventoryDocument } from './types.js';

const TOKEN_KEY = 'meshca.inventory-token';

/** The API refused the request for who sent it: 401 (no or bad token) or 403 (not allowed). */
export class AccessError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'AccessError';
    this.status = status;
  }
}

/** The token in use, if any. */
export function currentToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps `token` for this tab. */
export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
}

/** Forgets the token. */
export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Query parameters; empty and undefined ones are left out. */
export type Params = Readonly<Record<string, string | undefined>>;

/**
 * Reads one page of a view.
 *
 * @throws {@link AccessError} on 401 and 403; `Error` with the API's message otherwise.
 */
export async function readView<T>(
  view: string,
  params: Params = {},
): Promise<InventoryDocument<T>> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(name, value);
  }
  const url = new URL(`../v1/inventory/${view}`, window.location.href);
  url.search = query.toString();
  const token = currentToken();
  const response = await fetch(url, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    cache: 'no-store',
    credentials: 'omit',
  });
  const body: unknown = await response.json().catch(() => null);
  if (response.ok) return body as InventoryDocument<T>;
  const reported =
    typeof body === 'object' && body !== null && 'error' in body
      ? (body as { error: { message?: unknown } }).error.message
      : undefined;
  const message =
    typeof reported === 'string' ? reported : `${response.status} ${response.statusText}`;
  if (response.status === 401 || response.status === 403) {
    throw new AccessError(response.status, message);
  }
  throw new Error(`${view}: ${message}`);
}
