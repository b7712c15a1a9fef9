/**
 * Turns what one request learned on its way (the {@link RequestTrace}) into the immutable
 * {@link IssuanceEvent} its observers receive.
 *
 * @module
 */
import type { Caller } from '../auth/index.js';
import type { SignedCertificate } from '../ca/index.js';
import type { ValidatedCsr } from '../csr/index.js';
import type { MeshCaError } from '../errors.js';
import type { EventIdentity, IssuanceEvent, IssuanceOutcome } from '../events/index.js';
import type { SpiffeId } from '../identity/index.js';
import type { Decision } from '../policy/index.js';
import type { PodDirectory } from './service.js';

/** What one request has established so far; filled in as it goes. */
export interface RequestTrace {
  readonly requestId: string;
  readonly time: Date;
  /** `performance.now()` at arrival. */
  readonly started: number;
  caller: Caller | undefined;
  subject: SpiffeId | undefined;
  csr: ValidatedCsr | undefined;
  decision: Decision | undefined;
  issued: SignedCertificate | undefined;
}

/** Builds the event of a finished request. */
export function buildIssuanceEvent(
  trace: RequestTrace,
  error: MeshCaError | undefined,
  context: {
    readonly trustDomain: string;
    readonly durationMs: number;
    readonly pods: PodDirectory | undefined;
  },
): IssuanceEvent {
  const { caller, subject, csr, decision, issued } = trace;
  const outcome: IssuanceOutcome = error === undefined ? 'issued' : error.kind;
  const callerPod =
    caller?.podName === undefined
      ? undefined
      : context.pods?.pod(caller.clusterId, caller.namespace, caller.podName);
  return {
    requestId: trace.requestId,
    time: trace.time,
    durationMs: context.durationMs,
    outcome,
    errorCode: error?.code,
    errorMessage: error?.message,
    errorCause: error?.cause === undefined ? undefined : causeText(error.cause),
    trustDomain: context.trustDomain,
    clusterId: caller?.clusterId,
    caller:
      caller === undefined
        ? undefined
        : {
            identity: eventIdentity(caller.identity),
            method: caller.method,
            podName: caller.podName,
            podUid: caller.podUid,
            nodeName: callerPod?.nodeName === '' ? undefined : callerPod?.nodeName,
          },
    subject: subject === undefined ? undefined : eventIdentity(subject),
    subjectPod: subjectPod(caller, subject, callerPod, context.pods),
    csrSha256: csr?.sha256,
    key:
      csr === undefined
        ? undefined
        : { algorithm: csr.key.algorithm, bits: csr.key.bits, curve: csr.key.curve },
    decision:
      decision === undefined
        ? undefined
        : {
            effect: decision.effect,
            layer: decision.layer,
            rule: decision.rule,
            reason: decision.reason,
            audits: decision.audits,
          },
    certificate:
      issued === undefined || decision === undefined
        ? undefined
        : {
            serialHex: issued.serialHex,
            notBefore: issued.notBefore,
            notAfter: issued.notAfter,
            issuerFingerprint: issued.issuerFingerprint,
            ttlAdjustment: issued.cappedByCa ? 'ca-expiry' : decision.ttlAdjustment,
          },
  };
}

function eventIdentity(id: SpiffeId): EventIdentity {
  return {
    uri: id.uri,
    trustDomain: id.trustDomain,
    namespace: id.namespace,
    serviceAccount: id.serviceAccount,
  };
}

/**
 * The pod the certificate is for: the caller's own pod, or — for an impersonation — the one pod
 * of the subject on the caller's node, when the cache names exactly one.
 */
function subjectPod(
  caller: Caller | undefined,
  subject: SpiffeId | undefined,
  callerPod: { readonly uid: string; readonly nodeName: string } | undefined,
  pods: PodDirectory | undefined,
): IssuanceEvent['subjectPod'] {
  if (caller === undefined || subject === undefined) return undefined;
  const nodeName = callerPod?.nodeName === '' ? undefined : callerPod?.nodeName;
  if (subject.uri === caller.identity.uri) {
    if (caller.podName === undefined || caller.podUid === undefined) return undefined;
    return { name: caller.podName, uid: caller.podUid, nodeName };
  }
  if (nodeName === undefined || pods === undefined) return undefined;
  const candidates = pods.podsOnNode(
    caller.clusterId,
    subject.namespace,
    subject.serviceAccount,
    nodeName,
  );
  const [only] = candidates;
  return candidates.length === 1 && only !== undefined
    ? { name: only.name, uid: only.uid, nodeName }
    : undefined;
}

/** A server-side cause, for the log: its message (ours, never a client's token). */
function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
