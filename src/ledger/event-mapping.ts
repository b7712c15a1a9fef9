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
          node: event.subjectPod.nodeName ?? null,
          uid: event.subjectPod.uid,
        }
      : subject.uri === caller.identity.uri &&
          caller.podName !== undefined &&
          caller.podUid !== undefined
        ? { name: caller.podName, node: caller.nodeName ?? null, uid: caller.podUid }
        : null;
  const decision = event.decision;
  const certificate = event.certificate;
  // Keys in sorted order, nested ones too: the canonical form is then plain JSON.stringify
  // (canonical.ts), which the hash on the issuance path and the writer both need.
  return {
    authMethod: caller.method,
    caller: caller.identity.uri === subject.uri ? null : caller.identity.uri,
    certificate:
      certificate === undefined
        ? null
        : {
            issuerFingerprint: certificate.issuerFingerprint.toLowerCase(),
            notAfter: certificate.notAfter.toISOString(),
            notBefore: certificate.notBefore.toISOString(),
            serial: certificate.serialHex.toLowerCase(),
            ttlAdjustment: certificate.ttlAdjustment,
          },
    cluster: event.clusterId ?? null,
    csrSha256: event.csrSha256 ?? null,
    decision:
      decision === undefined
        ? null
        : {
            audits: decision.audits
              .filter((verdict) => verdict.effect === 'audit')
              .map((verdict) => ({
                layer: verdict.layer,
                reason: verdict.reason ?? null,
                rule: verdict.rule,
              })),
            effect: decision.effect,
            layer: decision.layer,
            reason: decision.reason ?? null,
            rule: decision.rule,
          },
    errorCode: event.outcome === 'issued' ? null : (event.errorCode ?? null),
    identity: subject.uri,
    issuerFingerprint:
      certificate !== undefined
        ? certificate.issuerFingerprint.toLowerCase()
        : (currentIssuer ?? null),
    key:
      event.key === undefined
        ? null
        : { algorithm: event.key.algorithm, bits: event.key.bits, curve: event.key.curve ?? null },
    message: event.outcome === 'issued' ? null : (event.errorMessage ?? null),
    namespace: subject.namespace,
    outcome: event.outcome,
    pod,
    requestId: event.requestId,
    serviceAccount: subject.serviceAccount,
    time: event.time.toISOString(),
    trustDomain: subject.trustDomain,
    type: 'issuance',
  };
}

/** Until when retention keeps an issuance record: its certificate's notAfter, else its time. */
export function issuanceKeepUntil(body: IssuanceRecordBody, timeMs: number): number {
  return body.certificate === null
    ? timeMs
    : Math.max(timeMs, Date.parse(body.certificate.notAfter));
}
