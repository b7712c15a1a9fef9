import { issuanceRecordOf } from '../../src/ledger/index.js';
import type { IssuanceEvent } from '../../src/events/index.js';
import { event, ISSUER_A, ISSUER_B, T0 } from './fixtures.js';

describe('issuanceRecordOf', () => {
  it.each<[string, IssuanceEvent, boolean]>([
    ['an issuance', event(), true],
    ['a policy denial', event({ outcome: 'denied', denyRule: 'namespaces' }), true],
    ['an identity the caller does not own', event({ outcome: 'denied' }), true],
    ['an invalid CSR from an authenticated caller', event({ outcome: 'invalid' }), true],
    [
      'impersonation refused to an authenticated node proxy',
      event({ outcome: 'unauthenticated', impersonatedBy: 'ztunnel' }),
      true,
    ],
    [
      'a caller that never authenticated',
      event({ outcome: 'unauthenticated', caller: false }),
      false,
    ],
    [
      'an invalid request before authentication',
      event({ outcome: 'invalid', caller: false }),
      false,
    ],
    ['a transient failure', event({ outcome: 'unavailable' }), false],
    ['a server-side failure', event({ outcome: 'internal' }), false],
  ])('%s: recorded %s', (_name, issuance, recorded) => {
    expect(issuanceRecordOf(issuance, ISSUER_A) !== undefined).toBe(recorded);
  });

  it('maps every field of an issuance', () => {
    const issuance = event({
      audits: [
        { effect: 'audit', layer: 'local', rule: 'require-ingress', reason: 'no Ingress' },
        { effect: 'allow', layer: 'central', rule: 'namespaces', reason: undefined },
      ],
    });
    expect(issuanceRecordOf(issuance, ISSUER_B)).toEqual({
      type: 'issuance',
      requestId: issuance.requestId,
      time: new Date(T0).toISOString(),
      outcome: 'issued',
      errorCode: null,
      message: null,
      cluster: 'east',
      trustDomain: 'cluster.local',
      identity: 'spiffe://cluster.local/ns/shop/sa/cart',
      namespace: 'shop',
      serviceAccount: 'cart',
      pod: { name: 'cart-1', uid: 'uid-cart-1', node: 'node-1' },
      caller: null,
      authMethod: 'token-review',
      csrSha256: 'c'.repeat(64),
      key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
      decision: {
        effect: 'allow',
        layer: 'central',
        rule: 'namespaces',
        reason: null,
        audits: [{ layer: 'local', rule: 'require-ingress', reason: 'no Ingress' }],
      },
      certificate: {
        serial: issuance.certificate!.serialHex,
        notBefore: new Date(T0 - 60_000).toISOString(),
        notAfter: new Date(T0 + 86_400_000).toISOString(),
        issuerFingerprint: ISSUER_A,
        ttlAdjustment: 'none',
      },
      // An issuance names its own issuer, not the one in force now.
      issuerFingerprint: ISSUER_A,
    });
  });

  it('names the caller and the subject pod for impersonation, and the intermediate in force for refusals', () => {
    const record = issuanceRecordOf(
      event({
        outcome: 'denied',
        denyRule: 'namespaces',
        impersonatedBy: 'ztunnel',
        pod: { name: 'cart-9', uid: 'uid-9' },
      }),
      ISSUER_B,
    );
    expect(record).toMatchObject({
      caller: 'spiffe://cluster.local/ns/istio-system/sa/ztunnel',
      identity: 'spiffe://cluster.local/ns/shop/sa/cart',
      pod: { name: 'cart-9', uid: 'uid-9', node: 'node-1' },
      errorCode: 'ERR_POLICY_DENIED',
      certificate: null,
      issuerFingerprint: ISSUER_B,
      decision: { effect: 'deny', rule: 'namespaces', reason: 'namespace shop is not allowed' },
    });
  });

  it('leaves the pod out when the impersonated subject has no known pod', () => {
    expect(
      issuanceRecordOf(event({ impersonatedBy: 'ztunnel', pod: null }), undefined)?.pod,
    ).toBeNull();
  });
});
