/**
 * The lifecycle records a recorder makes besides issuance events: certificates retired because
 * their workload is gone, revocations by hand, and discovery findings.
 *
 * @module
 */
import type {
  FindingRecordBody,
  JsonValue,
  RetireRecordBody,
  RevokeRecordBody,
} from './records.js';

/** Certificates whose workload is gone. */
export interface RetireInput {
  /** Serials (hex) to retire. */
  readonly serials?: readonly string[];
  /** The pod that is gone: every certificate issued to it so far is retired. */
  readonly pod?: { readonly namespace: string; readonly name: string; readonly uid: string };
  /** e.g. `pod-deleted`. */
  readonly reason: string;
}

/** A revocation by hand. */
export interface RevokeInput {
  readonly serials: readonly string[];
  /** An RFC 5280 §5.3.1 CRLReason name. */
  readonly reason: string;
  readonly by: string;
}

/** A discovery finding. */
export interface FindingInput {
  readonly kind: string;
  readonly severity: string;
  readonly object: string;
  readonly fingerprint?: string;
  readonly cluster?: string;
  readonly detail: JsonValue;
}

/** The record of a retirement at `now`. */
export function retireBody(input: RetireInput, now: Date): RetireRecordBody {
  // Keys in sorted order (see event-mapping.ts).
  return {
    pod:
      input.pod === undefined
        ? null
        : { name: input.pod.name, namespace: input.pod.namespace, uid: input.pod.uid },
    reason: input.reason,
    serials: (input.serials ?? []).map((serial) => serial.toLowerCase()),
    time: now.toISOString(),
    type: 'retire',
  };
}

/** The record of a revocation at `now`. */
export function revokeBody(input: RevokeInput, now: Date): RevokeRecordBody {
  return {
    by: input.by,
    reason: input.reason,
    serials: input.serials.map((serial) => serial.toLowerCase()),
    time: now.toISOString(),
    type: 'revoke',
  };
}

/** The record of a finding at `now`. */
export function findingBody(input: FindingInput, now: Date): FindingRecordBody {
  return {
    cluster: input.cluster ?? null,
    detail: input.detail,
    fingerprint: input.fingerprint ?? null,
    kind: input.kind,
    object: input.object,
    severity: input.severity,
    time: now.toISOString(),
    type: 'finding',
  };
}
