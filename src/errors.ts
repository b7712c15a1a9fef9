/**
 * The domain error hierarchy. Domain code throws these and never builds gRPC statuses;
 * `server/status.ts` is the one place that maps a {@link ErrorKind} to a gRPC code.
 *
 * Two families, as in panva/jose: a bug in our own wiring throws `TypeError`; bad input from a
 * caller throws a {@link MeshCaError} whose `code` is stable and whose client-facing text is safe
 * to send (it names the rule broken and never echoes secrets).
 *
 * @module
 */

/** How a failure is reported to a client. */
export type ErrorKind = 'unauthenticated' | 'invalid' | 'denied' | 'unavailable' | 'internal';

/** Stable error codes. Logs, metrics (`reason` label) and tests key on these. */
export type MeshCaErrorCode =
  // authentication (client sees an opaque message)
  | 'ERR_AUTH_NO_TOKEN'
  | 'ERR_AUTH_TOKEN_INVALID'
  | 'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT'
  | 'ERR_AUTH_UNKNOWN_CLUSTER'
  | 'ERR_AUTH_NOT_TLS'
  | 'ERR_IMPERSONATION_DENIED'
  // request shape and CSR content
  | 'ERR_REQUEST_INVALID'
  | 'ERR_TTL_INVALID'
  | 'ERR_CSR_MISSING'
  | 'ERR_CSR_TOO_LARGE'
  | 'ERR_CSR_PEM'
  | 'ERR_CSR_DER'
  | 'ERR_CSR_VERSION'
  | 'ERR_CSR_SUBJECT_CN'
  | 'ERR_CSR_SUBJECT_ATTRIBUTE'
  | 'ERR_CSR_ATTRIBUTE'
  | 'ERR_CSR_EXTENSION_FORBIDDEN'
  | 'ERR_CSR_EXTENSION_DUPLICATE'
  | 'ERR_CSR_EXTENSION_MALFORMED'
  | 'ERR_CSR_KEY_USAGE'
  | 'ERR_CSR_EXT_KEY_USAGE'
  | 'ERR_CSR_SAN_MISSING'
  | 'ERR_CSR_SAN_FORBIDDEN_TYPE'
  | 'ERR_CSR_SAN_COUNT'
  | 'ERR_CSR_KEY_ALGORITHM'
  | 'ERR_CSR_KEY_SIZE'
  | 'ERR_CSR_KEY_CURVE'
  | 'ERR_CSR_SIGNATURE_ALGORITHM'
  | 'ERR_CSR_SIGNATURE'
  | 'ERR_IDENTITY_INVALID'
  // authorization
  | 'ERR_CSR_IDENTITY_NOT_OWNED'
  // server side
  | 'ERR_CA_NOT_READY'
  | 'ERR_CA_EXPIRED'
  | 'ERR_TOKEN_REVIEW_UNAVAILABLE'
  | 'ERR_DEADLINE'
  | 'ERR_OVERLOADED'
  | 'ERR_SIGNING_FAILED'
  | 'ERR_INTERNAL'
  // --- added by the policy engine (#9); kind: unavailable ---
  // A policy fact cannot be known now (a watch not loaded yet, the API server unreachable or
  // rate-limited on a cache miss): the client retries; nothing is denied on a guess.
  | 'ERR_POLICY_UNAVAILABLE';

/** Options accepted by every {@link MeshCaError} constructor. */
export interface MeshCaErrorOptions {
  /** The underlying error, kept for logs only. */
  readonly cause?: unknown;
  /**
   * What the client is told. Defaults to the message for `invalid` and `denied` errors (which
   * name the rule broken), and to a fixed sentence per kind otherwise.
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

/** Base class of every error a caller's input can cause. */
export class MeshCaError extends Error {
  readonly code: MeshCaErrorCode;
  readonly kind: ErrorKind;
  /** Text safe to return to the client (never contains tokens, keys or inner messages). */
  readonly clientMessage: string;

  constructor(
    kind: ErrorKind,
    code: MeshCaErrorCode,
    message: string,
    options: MeshCaErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.code = code;
    this.clientMessage = options.clientMessage ?? OPAQUE_CLIENT_MESSAGES[kind] ?? message;
  }
}

/** The caller could not be authenticated. Clients see only "authentication failed". */
export class UnauthenticatedError extends MeshCaError {
  constructor(code: MeshCaErrorCode, message: string, options?: MeshCaErrorOptions) {
    super('unauthenticated', code, message, options);
  }
}

/** The request is malformed or breaks a CSR rule; the message names the rule. */
export class InvalidRequestError extends MeshCaError {
  constructor(code: MeshCaErrorCode, message: string, options?: MeshCaErrorOptions) {
    super('invalid', code, message, options);
  }
}

/** The caller is authenticated but may not have what it asked for. */
export class PermissionDeniedError extends MeshCaError {
  constructor(code: MeshCaErrorCode, message: string, options?: MeshCaErrorOptions) {
    super('denied', code, message, options);
  }
}

/** A transient condition; clients retry (istio-agent retries UNAVAILABLE up to 5 times). */
export class UnavailableError extends MeshCaError {
  constructor(code: MeshCaErrorCode, message: string, options?: MeshCaErrorOptions) {
    super('unavailable', code, message, options);
  }
}

/** Something broke on our side that retrying will not fix by itself. */
export class InternalError extends MeshCaError {
  constructor(code: MeshCaErrorCode, message: string, options?: MeshCaErrorOptions) {
    super('internal', code, message, options);
  }
}

/** Narrows `catch (e: unknown)` to a message without assuming it is an `Error`. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
