/** Issuance events and chained records built in code, for the ledger tests. */
import { randomBytes } from 'node:crypto';
import type { IssuanceEvent, PolicyVerdict } from '../../src/events/index.js';
import { ChainWriter, issuanceRecordOf } from '../../src/ledger/index.js';
import type { ChainedRecord, RecordBody } from '../../src/ledger/index.js';

export const ISSUER_A = 'a'.repeat(64);
export const ISSUER_B = 'b'.repeat(64);
export const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const HOUR = 3600_000;

/** What varies between test events. */
export interface EventSpec {
  readonly outcome?: IssuanceEvent['outcome'];
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly cluster?: string;
  readonly pod?: { readonly name: string; readonly uid: string } | null;
  readonly serial?: string;
  readonly issuer?: string;
  readonly timeMs?: number;
  readonly ttlMs?: number;
  readonly audits?: readonly PolicyVerdict[];
  readonly denyRule?: string;
  /** A node proxy (ztunnel) asking for this identity. */
  readonly impersonatedBy?: string;
  readonly caller?: boolean;
}

/** A random serial, lower-case hex. */
export function serial(): string {
  return randomBytes(16).toString('hex');
}

/** An issuance event as the service builds it. */
export function event(spec: EventSpec = {}): IssuanceEvent {
  const namespace = spec.namespace ?? 'shop';
  const serviceAccount = spec.serviceAccount ?? 'cart';
  const identity = {
    uri: `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`,
    trustDomain: 'cluster.local',
    namespace,
    serviceAccount,
  };
  const outcome = spec.outcome ?? 'issued';
  const time = spec.timeMs ?? T0;
  const pod =
    spec.pod === undefined
      ? { name: `${serviceAccount}-1`, uid: `uid-${serviceAccount}-1` }
      : spec.pod;
  const callerIdentity =
    spec.impersonatedBy === undefined
      ? identity
      : {
          uri: `spiffe://cluster.local/ns/istio-system/sa/${spec.impersonatedBy}`,
          trustDomain: 'cluster.local',
          namespace: 'istio-system',
          serviceAccount: spec.impersonatedBy,
        };
  const denied = outcome === 'denied' && spec.denyRule !== undefined;
  return {
    requestId: randomBytes(8).toString('hex'),
    time: new Date(time),
    durationMs: 3,
    outcome,
    errorCode:
      outcome === 'issued'
        ? undefined
        : outcome === 'denied'
          ? 'ERR_POLICY_DENIED'
          : 'ERR_CSR_SAN_MISSING',
    errorMessage: outcome === 'issued' ? undefined : `refused: ${spec.denyRule ?? outcome}`,
    errorCause: undefined,
    trustDomain: 'cluster.local',
    clusterId: spec.cluster ?? 'east',
    caller:
      spec.caller === false
        ? undefined
        : {
            identity: callerIdentity,
            method: 'token-review',
            podName: spec.impersonatedBy === undefined ? pod?.name : 'ztunnel-x',
            podUid: spec.impersonatedBy === undefined ? pod?.uid : 'uid-ztunnel',
            nodeName: 'node-1',
          },
    subject: identity,
    subjectPod:
      spec.impersonatedBy === undefined || pod === null
        ? undefined
        : { name: pod.name, uid: pod.uid, nodeName: 'node-1' },
    csrSha256: 'c'.repeat(64),
    key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
    decision:
      outcome === 'issued' || denied
        ? {
            effect: denied ? 'deny' : 'allow',
            layer: 'central',
            rule: spec.denyRule ?? 'namespaces',
            reason: denied ? `namespace ${namespace} is not allowed` : undefined,
            audits: spec.audits ?? [],
          }
        : undefined,
    certificate:
      outcome === 'issued'
        ? {
            serialHex: spec.serial ?? serial(),
            notBefore: new Date(time - 60_000),
            notAfter: new Date(time + (spec.ttlMs ?? 24 * HOUR)),
            issuerFingerprint: spec.issuer ?? ISSUER_A,
            ttlAdjustment: 'none',
          }
        : undefined,
  };
}

/** A chain of records made from bodies, as a recorder would. */
export class TestChain {
  readonly writer: ChainWriter;

  constructor(writer = 'test-pod') {
    this.writer = new ChainWriter(writer);
  }

  /** The record of an event (recorded ones only). */
  issuance(spec: EventSpec = {}, currentIssuer = ISSUER_A): ChainedRecord {
    const body = issuanceRecordOf(event(spec), currentIssuer);
    if (body === undefined) throw new Error('this event is not recorded');
    const time = Date.parse(body.time);
    const keep =
      body.certificate === null ? time : Math.max(time, Date.parse(body.certificate.notAfter));
    return this.writer.next(body, time, keep);
  }

  /** Any other record. */
  next(body: RecordBody, timeMs = T0): ChainedRecord {
    return this.writer.next(body, timeMs, body.type === 'prune' ? null : timeMs);
  }
}

/** The serial of an issuance record. */
export function serialOf(record: ChainedRecord): string {
  if (record.body.type !== 'issuance' || record.body.certificate === null)
    throw new Error('no certificate');
  return record.body.certificate.serial;
}
