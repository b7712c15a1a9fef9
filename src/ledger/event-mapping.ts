/**
 * Which issuance events the ledger records, and how. Recorded: every issuance (with the audit-mode
 * "would deny" verdicts it met), and every refusal of an authenticated caller: policy denials,
 * identities the caller does not own, invalid CSRs, and impersonation refused to an authenticated
 * node proxy. Not recorded:
 * - calls whose caller was never authenticated (`unauthenticated` without a caller): anyone can
 *   send them, and recording them would let anyone fill the ledger; metrics count them;
 * - `unavailable` and `internal` outcomes: transient or server-side failures, not decisions about
 *   the caller; metrics count them and the request log has them.
 *
 * @module
 */
import type { IssuanceEvent } from '../events/index.js';
import type { IssuanceRecordBody } from './records.js';

/** The outcomes recorded (when the caller is known). */
const RECORDED_OUTCOMES: ReadonlySet<string> = new Set([
  'issued',
  'denied',
  'invalid',
  'unauthenticated',
]);

/**
 * The record of `event`, or undefined when the ledger does not record it (see the module doc).
 *
 * @param currentIssuer Fingerprint of the intermediate in force, for refusals (per-intermediate
 *   denial counts); issuances carry their own.
 */
export function issuanceRecordOf(
  event: IssuanceEvent,
  currentIssuer: string | undefined,
): IssuanceRecordBody | undefined {
  const caller = event.caller;
  if (caller === undefined || !RECORDED_OUTCOMES.has(event.outcome)) return undefined;
  const subject = event.subject ?? caller.identity;
  const pod =
    event.subjectPod !== undefined
      ? {
          name: event.subjectPod.name,
          uid: event.subjectPod.uid,
          node: event.subjectPod.nodeName ?? null,
        }
      : subject.uri === caller.identity.uri &&
          caller.podName !== undefined &&
          caller.podUid !== undefined
        ? { name: caller.podName, uid: caller.podUid, node: caller.nodeName ?? null }
        : null;
  const decision = event.decision;
  const certificate = event.certificate;
  return {
    type: 'issuance',
    requestId: event.requestId,
    time: event.time.toISOString(),
    outcome: event.outcome,
    errorCode: event.outcome === 'issued' ? null : (event.errorCode ?? null),
    message: event.outcome === 'issued' ? null : (event.errorMessage ?? null),
    cluster: event.clusterId ?? null,
    trustDomain: subject.trustDomain,
    identity: subject.uri,
    namespace: subject.namespace,
    serviceAccount: subject.serviceAccount,
    pod,
    caller: caller.identity.uri === subject.uri ? null : caller.identity.uri,
    authMethod: caller.method,
    csrSha256: event.csrSha256 ?? null,
    key:
      event.key === undefined
        ? null
        : { algorithm: event.key.algorithm, bits: event.key.bits, curve: event.key.curve ?? null },
    decision:
      decision === undefined
        ? null
        : {
            effect: decision.effect,
            layer: decision.layer,
            rule: decision.rule,
            reason: decision.reason ?? null,
            audits: decision.audits
              .filter((verdict) => verdict.effect === 'audit')
              .map((verdict) => ({
                layer: verdict.layer,
                rule: verdict.rule,
                reason: verdict.reason ?? null,
              })),
          },
    certificate:
      certificate === undefined
        ? null
        : {
            serial: certificate.serialHex.toLowerCase(),
            notBefore: certificate.notBefore.toISOString(),
            notAfter: certificate.notAfter.toISOString(),
            issuerFingerprint: certificate.issuerFingerprint.toLowerCase(),
            ttlAdjustment: certificate.ttlAdjustment,
          },
    issuerFingerprint:
      certificate !== undefined
        ? certificate.issuerFingerprint.toLowerCase()
        : (currentIssuer ?? null),
  };
}

/** Until when retention keeps an issuance record: its certificate's notAfter, else its time. */
export function issuanceKeepUntil(body: IssuanceRecordBody, timeMs: number): number {
  return body.certificate === null
    ? timeMs
    : Math.max(timeMs, Date.parse(body.certificate.notAfter));
}
