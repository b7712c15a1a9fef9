/**
 * The CreateCertificate use case, independent of gRPC, as one straight line:
 * authenticate → settle the identity → rate limits → validate the CSR → decide → sign → answer,
 * then one {@link IssuanceEvent} to the observers (metrics, the request log, the ledger). It talks only
 * to role interfaces (Authenticator, ImpersonationAuthorizer, IssuanceLimiter, CsrChecker,
 * IssuanceDecider, Signer, IssuanceGate), so governance parts slot in without touching it
 * (ISTIO-CONTRACT.md §4.2 processing order, §11 E response shape).
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
import type { Signer } from '../ca/index.js';
import type { Clock } from '../clock.js';
import type { ValidatedCsr } from '../csr/index.js';
import {
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  asMeshCaError,
  type MeshCaError,
} from '../errors.js';
import type { IssuanceGate, IssuanceObservers } from '../events/index.js';
import { parseWorkloadSpiffeId, type SpiffeId } from '../identity/index.js';
import type { IssuanceLimiter } from '../limits/index.js';
import type { Decision, IssuanceDecider } from '../policy/index.js';
import { CallScope } from '../util/index.js';
import { buildIssuanceEvent, type RequestTrace } from './issuance-event-builder.js';

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

/** Validates a CSR against the one identity it may carry (`csr/CsrValidator`). */
export interface CsrChecker {
  /**
   * @throws `InvalidRequestError` for a malformed or non-conforming CSR, `PermissionDeniedError`
   * when it asks for another identity.
   */
  validate(pem: string, identity: SpiffeId): Promise<ValidatedCsr>;
}

/** What meshca's pod caches know about a pod; never asks the API server. */
export interface PodDirectory {
  /** The cached pod `namespace/name` of `clusterId`, if known. */
  pod(
    clusterId: string,
    namespace: string,
    name: string,
  ): { readonly uid: string; readonly nodeName: string } | undefined;
  /** Cached pods of `namespace/serviceAccount` on `nodeName` in `clusterId`. */
  podsOnNode(
    clusterId: string,
    namespace: string,
    serviceAccount: string,
    nodeName: string,
  ): readonly { readonly name: string; readonly uid: string }[];
}

/** Collaborators of {@link CertificateService}. */
export interface CertificateServiceDeps {
  readonly authenticator: Authenticator;
  /** Absent when impersonation is not configured: every impersonation request is refused. */
  readonly impersonation: ImpersonationAuthorizer | undefined;
  readonly csrValidator: CsrChecker;
  readonly decider: IssuanceDecider;
  readonly signer: Signer;
  /**
   * Rate limits, checked once the subject identity is known and before the CSR is validated;
   * absent: no limits.
   */
  readonly limiter: IssuanceLimiter | undefined;
  /** Conditions checked before signing (e.g. the ledger can still record). */
  readonly gates: readonly IssuanceGate[];
  readonly observers: IssuanceObservers;
  /** Pod caches, to record the node of a request; absent without a pod watch. */
  readonly pods: PodDirectory | undefined;
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

/** Issues workload certificates. */
export class CertificateService {
  readonly #deps: CertificateServiceDeps;
  readonly #options: CertificateServiceOptions;
  #inFlight = 0;
  /**
   * Request ids: a random prefix per service and a counter — unique across replicas and restarts
   * for log correlation, without a random draw per request on the hot path.
   */
  readonly #requestIdPrefix = randomBytes(4).toString('hex');
  #requests = 0;

  constructor(deps: CertificateServiceDeps, options: CertificateServiceOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  /** Requests being processed now (the in-flight gauge reads it). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Handles one request. Never throws anything but {@link MeshCaError}: unexpected failures are
   * wrapped as internal errors. Every call, answered or refused, ends in one issuance event.
   *
   * @param signal Fires when the client cancels.
   */
  async createCertificate(
    request: CertificateRequest,
    credentials: RequestCredentials,
    signal: AbortSignal,
  ): Promise<CertificateResponse> {
    const trace = this.#newTrace();
    if (this.#inFlight >= this.#options.maxInFlight) {
      const error = new UnavailableError('ERR_OVERLOADED', 'too many requests in flight');
      this.#finish(trace, error);
      throw error;
    }
    this.#inFlight++;
    const scope = new CallScope(this.#options.requestTimeoutMs, signal);
    try {
      const response = await scope.race(
        this.#process(request, credentials, scope.signal, trace),
        () => new UnavailableError('ERR_DEADLINE', 'request deadline exceeded'),
      );
      this.#finish(trace, undefined);
      return response;
    } catch (error) {
      const domainError = asMeshCaError(error);
      this.#finish(trace, domainError);
      throw domainError;
    } finally {
      scope.close();
      this.#inFlight--;
    }
  }

  /**
   * Records a request the adapter refused before it reached {@link createCertificate} (a
   * malformed message), so that observers see every call.
   */
  refuse(error: unknown): void {
    this.#finish(this.#newTrace(), asMeshCaError(error));
  }

  async #process(
    request: CertificateRequest,
    credentials: RequestCredentials,
    signal: AbortSignal,
    trace: RequestTrace,
  ): Promise<CertificateResponse> {
    const caller = await this.#deps.authenticator.authenticate(credentials, signal);
    trace.caller = caller;
    const identity = await this.#targetIdentity(caller, request.impersonatedIdentity, signal);
    trace.subject = identity;
    // Before the costly steps (CSR parsing, proof of possession, signing): a crash-looping proxy
    // costs a bucket lookup per call, not a signature.
    const limited = this.#deps.limiter?.admit(identity);
    if (limited !== undefined) throw limited;
    const csr = await this.#deps.csrValidator.validate(request.csrPem, identity);
    trace.csr = csr;
    const decision = await this.#deps.decider.decide(
      {
        subject: identity,
        caller,
        impersonated: request.impersonatedIdentity !== undefined,
        key: csr.key,
        requestedTtlSeconds: request.validitySeconds,
      },
      signal,
    );
    trace.decision = decision;
    if (decision.effect === 'deny') throw policyDenial(decision);
    // The client may have been answered already (deadline, cancel): sign nothing nobody gets.
    if (signal.aborted) throw abandoned();
    for (const gate of this.#deps.gates) {
      const refusal = gate.admit();
      if (refusal !== undefined) throw refusal;
    }
    const issued = await this.#deps.signer.sign({
      spkiDer: csr.spkiDer,
      subjectAltNames: [{ type: 'uri', value: identity.uri }],
      ttlSeconds: decision.ttlSeconds,
    });
    trace.issued = issued;
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
      new UnauthenticatedError('ERR_IMPERSONATION_DENIED', message, { cause });
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

  #nextRequestId(): string {
    this.#requests = (this.#requests + 1) % Number.MAX_SAFE_INTEGER;
    return `${this.#requestIdPrefix}-${this.#requests.toString(36)}`;
  }

  #newTrace(): RequestTrace {
    return {
      requestId: this.#nextRequestId(),
      time: this.#deps.clock.now(),
      started: performance.now(),
      caller: undefined,
      subject: undefined,
      csr: undefined,
      decision: undefined,
      issued: undefined,
    };
  }

  #finish(trace: RequestTrace, error: MeshCaError | undefined): void {
    this.#deps.observers.notify(
      buildIssuanceEvent(trace, error, {
        trustDomain: this.#options.trustDomain,
        durationMs: performance.now() - trace.started,
        pods: this.#deps.pods,
      }),
    );
  }
}

/** The request was answered before it got here (its deadline passed, or the client left). */
function abandoned(): UnavailableError {
  return new UnavailableError('ERR_DEADLINE', 'request abandoned before signing');
}

/** A deny decision as the client sees it: `policy <layer>/<rule>: <reason>`. */
function policyDenial(decision: Decision): PermissionDeniedError {
  const reason = decision.reason ?? 'denied';
  return new PermissionDeniedError(
    'ERR_POLICY_DENIED',
    `policy ${decision.layer}/${decision.rule}: ${reason}`,
  );
}
