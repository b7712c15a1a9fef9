/**
 * The CreateCertificate use case, independent of gRPC: authenticate the caller, settle the
 * identity to issue (the caller's own, or one a trusted node proxy may impersonate), validate the
 * CSR against it, pick the validity, sign, and assemble the chain in the shape Istio's clients
 * need (ISTIO-CONTRACT.md §4.2 processing order, §11 E response shape).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type {
  Authenticator,
  Caller,
  ImpersonationAuthorizer,
  RequestCredentials,
} from '../auth/index.js';
import type { CertificateAuthority } from '../ca/index.js';
import type { Clock } from '../clock.js';
import type { CsrValidator } from '../csr/index.js';
import { MeshCaError, UnauthenticatedError, UnavailableError, errorMessage } from '../errors.js';
import { parseWorkloadSpiffeId, type SpiffeId } from '../identity/index.js';
import type { Logger } from '../logger.js';
import type { CaMetrics, RequestOutcome } from '../metrics/index.js';
import type { TtlPolicy } from '../policy/index.js';
import { raceSignal } from '../util/index.js';

/** One CreateCertificate request, decoded from the wire. */
export interface CertificateRequest {
  readonly csrPem: string;
  /** `validity_duration`, seconds (int64). */
  readonly validitySeconds: bigint;
  /** `metadata.ImpersonatedIdentity` when present and non-empty. */
  readonly impersonatedIdentity: string | undefined;
}

/** The response: `cert_chain` in Istio's order. */
export interface CertificateResponse {
  readonly certChain: readonly string[];
}

/** Collaborators of {@link CertificateService}. */
export interface CertificateServiceDeps {
  readonly authenticator: Authenticator;
  /** Absent when impersonation is not configured: every impersonation request is refused. */
  readonly impersonation: ImpersonationAuthorizer | undefined;
  readonly csrValidator: CsrValidator;
  readonly ttlPolicy: TtlPolicy;
  readonly authority: CertificateAuthority;
  readonly metrics: CaMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** Limits of {@link CertificateService}. */
export interface CertificateServiceOptions {
  /** The trust domain identities must belong to. */
  readonly trustDomain: string;
  /** Istio's clients send no deadline; this bounds every request (ISTIO-CONTRACT.md §2.4). */
  readonly requestTimeoutMs: number;
  /** Requests processed at once; beyond it callers get UNAVAILABLE and retry. */
  readonly maxInFlight: number;
}

const IMPERSONATION_DENIED = 'impersonation not authorized';

/** Issues workload certificates. */
export class CertificateService {
  readonly #deps: CertificateServiceDeps;
  readonly #options: CertificateServiceOptions;
  #inFlight = 0;

  constructor(deps: CertificateServiceDeps, options: CertificateServiceOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /**
   * Handles one request. Never throws anything but {@link MeshCaError}: unexpected failures are
   * logged and wrapped as internal errors.
   *
   * @param signal Fires when the client cancels.
   */
  async createCertificate(
    request: CertificateRequest,
    credentials: RequestCredentials,
    signal: AbortSignal,
  ): Promise<CertificateResponse> {
    const started = performance.now();
    const log = this.#deps.logger.child({ requestId: randomBytes(6).toString('hex') });
    const { metrics } = this.#deps;
    if (this.#inFlight >= this.#options.maxInFlight) {
      const error = new UnavailableError('ERR_OVERLOADED', 'too many requests in flight');
      this.#finish(log, error, started);
      throw error;
    }
    this.#inFlight++;
    metrics.inFlight(1);
    try {
      const deadline = AbortSignal.any([
        signal,
        AbortSignal.timeout(this.#options.requestTimeoutMs),
      ]);
      const response = await raceSignal(
        this.#process(request, credentials, deadline, log),
        deadline,
        () => new UnavailableError('ERR_DEADLINE', 'request deadline exceeded'),
      );
      this.#finish(log, undefined, started);
      return response;
    } catch (error) {
      const domainError = asMeshCaError(error);
      this.#finish(log, domainError, started);
      throw domainError;
    } finally {
      this.#inFlight--;
      metrics.inFlight(-1);
    }
  }

  /**
   * Records a request the adapter refused before it reached {@link createCertificate} (a
   * malformed message), so that logs and metrics see every call.
   */
  refuse(error: unknown): void {
    const domainError = asMeshCaError(error);
    this.#finish(this.#deps.logger, domainError, performance.now());
  }

  async #process(
    request: CertificateRequest,
    credentials: RequestCredentials,
    signal: AbortSignal,
    log: Logger,
  ): Promise<CertificateResponse> {
    const caller = await this.#deps.authenticator.authenticate(credentials, signal);
    const identity = await this.#targetIdentity(caller, request.impersonatedIdentity, signal);
    const csr = await this.#deps.csrValidator.validate(request.csrPem, identity);
    const authority = this.#deps.authority.current();
    const window = this.#deps.ttlPolicy.window(
      request.validitySeconds,
      authority.material.notAfter,
    );
    const issued = await authority.issue({
      spkiDer: csr.spkiDer,
      subjectAltNames: [{ type: 'uri', value: identity.uri }],
      notBefore: window.notBefore,
      notAfter: window.notAfter,
    });
    this.#deps.metrics.certificateIssued(keyLabel(csr.key), window.adjustment, caller.method);
    log.info(
      {
        identity: identity.uri,
        caller: caller.identity.uri === identity.uri ? undefined : caller.identity.uri,
        cluster: caller.clusterId,
        pod: caller.podName,
        serial: issued.serialHex,
        notAfter: issued.notAfter.toISOString(),
        ttlAdjustment: window.adjustment,
        keyType: csr.key.curve ?? `RSA-${csr.key.bits}`,
        csrSha256: csr.sha256,
        issuer: issued.issuerFingerprint,
      },
      'certificate issued',
    );
    // Leaf first, then one certificate per intermediate element, then the whole trust bundle as
    // the last element (ISTIO-CONTRACT.md §2.2 "Do not split root CA"; checklist 23-27).
    return {
      certChain: [issued.pem, ...issued.intermediatePems, issued.trustBundle.pem],
    };
  }

  /** The caller's own identity, or the impersonated one when a trusted node proxy asks for it. */
  async #targetIdentity(
    caller: Caller,
    impersonated: string | undefined,
    signal: AbortSignal,
  ): Promise<SpiffeId> {
    if (impersonated === undefined) return caller.identity;
    const deny = (message: string, cause?: unknown): UnauthenticatedError =>
      new UnauthenticatedError('ERR_IMPERSONATION_DENIED', message, {
        clientMessage: IMPERSONATION_DENIED,
        cause,
      });
    if (this.#deps.impersonation === undefined) {
      throw deny(
        `${caller.identity.uri} asked to impersonate, but impersonation is not configured`,
      );
    }
    let requested: SpiffeId;
    try {
      requested = parseWorkloadSpiffeId(impersonated);
    } catch (error) {
      throw deny('impersonated identity is not a workload SPIFFE ID', error);
    }
    // istiod does not compare the trust domain (ISTIO-CONTRACT.md §4.5); we do.
    if (requested.trustDomain !== this.#options.trustDomain) {
      throw deny(`impersonated identity is outside trust domain ${this.#options.trustDomain}`);
    }
    await this.#deps.impersonation.authorize(caller, requested, signal);
    return requested;
  }

  #finish(log: Logger, error: MeshCaError | undefined, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    if (error === undefined) {
      this.#deps.metrics.requestFinished('issued', 'ok', seconds);
      return;
    }
    const outcome: RequestOutcome =
      error.kind === 'unauthenticated' ? 'unauthenticated' : error.kind;
    this.#deps.metrics.requestFinished(outcome, error.code, seconds);
    // The cause of a server-side failure is ours (never a client's token): log it.
    const cause = error.cause === undefined ? undefined : errorMessage(error.cause);
    const fields = {
      code: error.code,
      reason: error.message,
      ...(cause === undefined ? {} : { cause }),
    };
    if (error.kind === 'internal') {
      log.error(fields, 'certificate request failed');
    } else {
      log.warn(fields, 'certificate request refused');
    }
  }
}

/** A closed set of metric label values: the standard RSA sizes, else `RSA-other`. */
function keyLabel(key: { readonly curve: string | undefined; readonly bits: number }): string {
  if (key.curve !== undefined) return key.curve;
  return [2048, 3072, 4096].includes(key.bits) ? `RSA-${key.bits}` : 'RSA-other';
}

/** A domain error as is; anything else is a bug, reported as an internal error. */
function asMeshCaError(error: unknown): MeshCaError {
  return error instanceof MeshCaError
    ? error
    : new MeshCaError('internal', 'ERR_INTERNAL', errorMessage(error), { cause: error });
}
