/**
 * The domain error hierarchy. Domain code throws these and never builds gRPC statuses;
 * `server/status.ts` is the one place that maps a {@link ErrorKind} to a gRPC code.
 *
 * Two families, as in panva/jose: a bug in our own wiring throws `TypeError`; bad input from a
 * caller throws a {@link MeshCaError} whose `code` is stable and whose client-facing text is safe
 * to send (it names the rule broken and never echoes secrets).
 *
 * Every code belongs to exactly one kind, in one catalogue ({@link ERROR_CATALOGUE}); each kind's
 * subclass accepts only the codes of its kind, so the compiler refuses a code used with the wrong
 * kind.
 *
 * Errors that never reach a gRPC client stand apart on purpose and extend `Error` directly: they
 * are about the operator's input, not a caller's, and have no kind or status — `ConfigError`
 * (settings), `UsageError` (command line), `CaMaterialError` (the CA files given to meshca),
 * `KubeApiError` (an answer of the API server, wrapped into a MeshCaError where a request
 * depends on it) and `DerError` (a DER decoding failure, always rethrown as a CSR error).
 *
 * @module
 */

/** How a failure is reported to a client. */
export type ErrorKind = 'unauthenticated' | 'invalid' | 'denied' | 'unavailable' | 'internal';

/** One code: its kind, and the fixed sentence a client sees when the detail must stay ours. */
interface CatalogueEntry {
  readonly kind: ErrorKind;
  /** Overrides the kind's default client sentence. */
  readonly client?: string;
}

/**
 * Every stable error code. Logs, metrics (the `reason` label), the ledger and tests key on these;
 * the README's error table describes them by kind.
 */
export const ERROR_CATALOGUE = {
  // Authentication: the client sees only "authentication failed".
  ERR_AUTH_NO_TOKEN: { kind: 'unauthenticated' },
  ERR_AUTH_TOKEN_INVALID: { kind: 'unauthenticated' },
  ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT: { kind: 'unauthenticated' },
  ERR_AUTH_UNKNOWN_CLUSTER: { kind: 'unauthenticated' },
  ERR_IMPERSONATION_DENIED: { kind: 'unauthenticated', client: 'impersonation not authorized' },
  // Request shape and CSR content: the client sees the message, which names the rule.
  ERR_REQUEST_INVALID: { kind: 'invalid' },
  ERR_TTL_INVALID: { kind: 'invalid' },
  ERR_CSR_MISSING: { kind: 'invalid' },
  ERR_CSR_TOO_LARGE: { kind: 'invalid' },
  ERR_CSR_PEM: { kind: 'invalid' },
  ERR_CSR_DER: { kind: 'invalid' },
  ERR_CSR_VERSION: { kind: 'invalid' },
  ERR_CSR_SUBJECT_CN: { kind: 'invalid' },
  ERR_CSR_SUBJECT_ATTRIBUTE: { kind: 'invalid' },
  ERR_CSR_ATTRIBUTE: { kind: 'invalid' },
  ERR_CSR_EXTENSION_FORBIDDEN: { kind: 'invalid' },
  ERR_CSR_EXTENSION_DUPLICATE: { kind: 'invalid' },
  ERR_CSR_EXTENSION_MALFORMED: { kind: 'invalid' },
  ERR_CSR_KEY_USAGE: { kind: 'invalid' },
  ERR_CSR_EXT_KEY_USAGE: { kind: 'invalid' },
  ERR_CSR_SAN_MISSING: { kind: 'invalid' },
  ERR_CSR_SAN_FORBIDDEN_TYPE: { kind: 'invalid' },
  ERR_CSR_SAN_COUNT: { kind: 'invalid' },
  ERR_CSR_KEY_ALGORITHM: { kind: 'invalid' },
  ERR_CSR_KEY_SIZE: { kind: 'invalid' },
  ERR_CSR_KEY_CURVE: { kind: 'invalid' },
  ERR_CSR_SIGNATURE_ALGORITHM: { kind: 'invalid' },
  ERR_CSR_SIGNATURE: { kind: 'invalid' },
  ERR_IDENTITY_INVALID: { kind: 'invalid' },
  // Operator input read at start-up or by `meshca scan` (never a caller's).
  ERR_DISCOVERY_ALLOWLIST_INVALID: { kind: 'invalid' },
  ERR_DISCOVERY_APPROVED_ROOTS_INVALID: { kind: 'invalid' },
  // Authorization: the client sees the message, which names the rule.
  ERR_CSR_IDENTITY_NOT_OWNED: { kind: 'denied' },
  ERR_POLICY_DENIED: { kind: 'denied' },
  // Transient conditions: the client retries.
  ERR_CA_NOT_READY: { kind: 'unavailable' },
  ERR_PODS_NOT_SYNCED: { kind: 'unavailable' },
  ERR_TOKEN_REVIEW_UNAVAILABLE: { kind: 'unavailable' },
  ERR_DEADLINE: { kind: 'unavailable' },
  ERR_OVERLOADED: { kind: 'unavailable' },
  /** A policy fact cannot be known now (a cache loading, the API server unreachable). */
  ERR_POLICY_UNAVAILABLE: { kind: 'unavailable' },
  /** The ledger cannot record and its spool is full, with `ledgerSpoolFull: fail-closed`. */
  ERR_LEDGER_UNAVAILABLE: { kind: 'unavailable' },
  // Server-side failures that a retry will not fix by itself.
  ERR_CA_EXPIRED: { kind: 'internal' },
  ERR_VALIDITY_EMPTY: { kind: 'internal' },
  ERR_SIGNING_FAILED: { kind: 'internal' },
  ERR_INTERNAL: { kind: 'internal' },
  /** The ledger database was migrated by a newer meshca. */
  ERR_LEDGER_SCHEMA: { kind: 'internal' },
  // --- Hardening (#13) ---
  // A rate limit (per identity or per replica) is exhausted: the client retries with backoff.
  ERR_RATE_LIMITED: { kind: 'unavailable' },
  // --- Faults of the ledger (#13) ---
  /**
   * The SQLite ledger's file cannot be written (SQLITE_FULL: a full disk; SQLITE_IOERR: an I/O
   * error): handled as a database outage, never seen by clients.
   */
  ERR_LEDGER_STORAGE: { kind: 'unavailable' },
  // --- Performance (#12) ---
  /** A CSR verification thread stopped while it held the check (it is replaced), or shutdown. */
  ERR_CSR_VERIFIER_UNAVAILABLE: { kind: 'unavailable' },
} as const satisfies Readonly<Record<string, CatalogueEntry>>;

/** Stable error codes. */
export type MeshCaErrorCode = keyof typeof ERROR_CATALOGUE;

/** The codes of one kind. */
export type CodeOfKind<K extends ErrorKind> = {
  [C in MeshCaErrorCode]: (typeof ERROR_CATALOGUE)[C]['kind'] extends K ? C : never;
}[MeshCaErrorCode];

/** Options accepted by every {@link MeshCaError} constructor. */
export interface MeshCaErrorOptions {
  /** The underlying error, kept for logs only. */
  readonly cause?: unknown;
  /**
   * What the client is told. Defaults to the catalogue's sentence for the code, else the message
   * for `invalid` and `denied` errors (which name the rule broken), else a fixed sentence per
   * kind.
   */
  readonly clientMessage?: string;
}

/** Fixed client-facing sentences for the kinds whose detail must stay in our logs. */
const OPAQUE_CLIENT_MESSAGES: Readonly<Record<ErrorKind, string | undefined>> = {
  unauthenticated: 'authentication failed',
  invalid: undefined,
  denied: undefined,
  unavailable: 'the CA is temporarily unavailable, retry later',
  internal: 'internal error',
};

/**
 * The longest client message, in UTF-8 bytes. gRPC C-core clients (Envoy, Python) and tonic
 * (ztunnel) cap response metadata at 8 KiB and report RESOURCE_EXHAUSTED instead of our status
 * past it; messages are short sentences, so this bound only ever cuts an echoed value.
 */
export const MAX_CLIENT_MESSAGE_BYTES = 512;

/** Cuts `text` to {@link MAX_CLIENT_MESSAGE_BYTES} UTF-8 bytes, marking the cut. */
export function boundClientMessage(text: string): string {
  if (Buffer.byteLength(text, 'utf8') <= MAX_CLIENT_MESSAGE_BYTES) return text;
  let cut = text.slice(0, MAX_CLIENT_MESSAGE_BYTES - 3);
  while (Buffer.byteLength(cut, 'utf8') > MAX_CLIENT_MESSAGE_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}...`;
}

/** The most characters of one client-supplied value a message quotes (an OID, a label...). */
export const MAX_QUOTED_INPUT_CHARS = 48;

/**
 * Client input as a message may quote it, so that the message names the rule broken and stays
 * short whatever was sent: at most `maxChars` characters (then "…"), control characters shown as
 * U+FFFD. Every message that echoes client input quotes it through this, at the source: the
 * 512-byte bound of {@link boundClientMessage} is only the last line of defence, and a cut there
 * would lose the end of the sentence (the rule) rather than the middle of the value.
 */
export function quoteInput(input: string, maxChars = MAX_QUOTED_INPUT_CHARS): string {
  // Only a bounded prefix is ever looked at, however long the input (an OID with 20,000 arcs).
  const head = Array.from(input.slice(0, 2 * maxChars + 2));
  const shown = head.slice(0, maxChars).join('');
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const printable = shown.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\uFFFD');
  return head.length > maxChars ? `${printable}…` : printable;
}

/** Base class of every error a caller's input can cause. */
export class MeshCaError extends Error {
  readonly code: MeshCaErrorCode;
  readonly kind: ErrorKind;
  /** Text safe to return to the client (never contains tokens, keys or inner messages). */
  readonly clientMessage: string;

  constructor(code: MeshCaErrorCode, message: string, options: MeshCaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry: CatalogueEntry = ERROR_CATALOGUE[code];
    this.name = new.target.name;
    this.kind = entry.kind;
    this.code = code;
    this.clientMessage = boundClientMessage(
      options.clientMessage ?? entry.client ?? OPAQUE_CLIENT_MESSAGES[entry.kind] ?? message,
    );
  }
}

/** The caller could not be authenticated. Clients see only "authentication failed". */
export class UnauthenticatedError extends MeshCaError {
  // Not useless: it narrows `code` to the codes of this kind (here and in the siblings below).
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: CodeOfKind<'unauthenticated'>, message: string, options?: MeshCaErrorOptions) {
    super(code, message, options);
  }
}

/** The request is malformed or breaks a CSR rule; the message names the rule. */
export class InvalidRequestError extends MeshCaError {
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: CodeOfKind<'invalid'>, message: string, options?: MeshCaErrorOptions) {
    super(code, message, options);
  }
}

/** The caller is authenticated but may not have what it asked for. */
export class PermissionDeniedError extends MeshCaError {
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: CodeOfKind<'denied'>, message: string, options?: MeshCaErrorOptions) {
    super(code, message, options);
  }
}

/** A transient condition; clients retry (istio-agent retries UNAVAILABLE up to 5 times). */
export class UnavailableError extends MeshCaError {
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: CodeOfKind<'unavailable'>, message: string, options?: MeshCaErrorOptions) {
    super(code, message, options);
  }
}

/** Something broke on our side that retrying will not fix by itself. */
export class InternalError extends MeshCaError {
  // eslint-disable-next-line @typescript-eslint/no-useless-constructor
  constructor(code: CodeOfKind<'internal'>, message: string, options?: MeshCaErrorOptions) {
    super(code, message, options);
  }
}

/** A domain error as is; anything else is a bug, reported as an internal error. */
export function asMeshCaError(error: unknown): MeshCaError {
  return error instanceof MeshCaError
    ? error
    : new InternalError('ERR_INTERNAL', errorMessage(error), { cause: error });
}

/** Narrows `catch (e: unknown)` to a message without assuming it is an `Error`. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
