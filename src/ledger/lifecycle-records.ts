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
  return {
    type: 'retire',
    time: now.toISOString(),
    reason: input.reason,
    serials: (input.serials ?? []).map((serial) => serial.toLowerCase()),
    pod: input.pod === undefined ? null : { ...input.pod },
  };
}

/** The record of a revocation at `now`. */
export function revokeBody(input: RevokeInput, now: Date): RevokeRecordBody {
  return {
    type: 'revoke',
    time: now.toISOString(),
    serials: input.serials.map((serial) => serial.toLowerCase()),
    reason: input.reason,
    by: input.by,
  };
}

/** The record of a finding at `now`. */
export function findingBody(input: FindingInput, now: Date): FindingRecordBody {
  return {
    type: 'finding',
    time: now.toISOString(),
    cluster: input.cluster ?? null,
    kind: input.kind,
    severity: input.severity,
    object: input.object,
    fingerprint: input.fingerprint ?? null,
    detail: input.detail,
  };
}
