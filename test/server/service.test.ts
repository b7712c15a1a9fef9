/**
 * CertificateService, the issuance use case, with fakes for every role: each outcome and error
 * path, the response shape, and the one frozen IssuanceEvent per request that the observers get.
 * Impersonation, limits and observers: service-impersonation.test.ts, service-limits.test.ts.
 */
import type { Caller } from '../../src/auth/index.js';
import {
  InternalError,
  PermissionDeniedError,
  InvalidRequestError,
  UnauthenticatedError,
  UnavailableError,
  type ErrorKind,
  type MeshCaErrorCode,
} from '../../src/errors.js';
import type { IssuanceEvent, PolicyVerdict } from '../../src/events/index.js';
import type { CertificateRequest } from '../../src/server/index.js';
import { FAKE_CERTIFICATE, FakePodDirectory, allowDecision, makeCaller } from '../fakes/index.js';
import {
  CREDENTIALS,
  IMPERSONATED,
  NOW,
  refusal,
  request,
  setup,
  type ServiceFixture,
} from './service-setup.js';

describe('CertificateService', () => {
  it('issues: the chain in Istio order and one complete, frozen event', async () => {
    const pods = new FakePodDirectory([
      {
        clusterId: 'Kubernetes',
        namespace: 'default',
        name: 'app-1',
        uid: 'uid-app-1',
        serviceAccount: 'app',
        nodeName: 'node-a',
      },
    ]);
    const { service, csrValidator, decider, signer, gates, recorder } = setup({ pods });
    decider.decision = allowDecision({ ttlSeconds: 7200, ttlAdjustment: 'max' });

    const response = await service.createCertificate(
      request({ csrPem: 'THE CSR', validitySeconds: 99999n }),
      CREDENTIALS,
      new AbortController().signal,
    );

    expect(response.certChain).toEqual([
      FAKE_CERTIFICATE.pem,
      FAKE_CERTIFICATE.intermediatePem,
      FAKE_CERTIFICATE.bundlePem,
    ]);
    expect(csrValidator.calls).toEqual([
      {
        pem: 'THE CSR',
        identity: expect.objectContaining({
          uri: 'spiffe://cluster.local/ns/default/sa/app',
        }) as unknown,
      },
    ]);
    expect(decider.calls).toEqual([
      {
        subject: expect.objectContaining({
          uri: 'spiffe://cluster.local/ns/default/sa/app',
        }) as unknown,
        caller: expect.objectContaining({ podName: 'app-1' }) as unknown,
        impersonated: false,
        key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
        requestedTtlSeconds: 99999n,
      },
    ]);
    expect(gates[0]?.checks).toBe(1);
    expect(signer.calls).toEqual([
      {
        spkiDer: csrValidator.spkiDer,
        subjectAltNames: [{ type: 'uri', value: 'spiffe://cluster.local/ns/default/sa/app' }],
        ttlSeconds: 7200,
      },
    ]);
    const event = recorder.only();
    expect(Object.isFrozen(event)).toBe(true);
    const identity = {
      uri: 'spiffe://cluster.local/ns/default/sa/app',
      trustDomain: 'cluster.local',
      namespace: 'default',
      serviceAccount: 'app',
    };
    expect(event).toEqual({
      requestId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-z]+$/) as unknown,
      time: NOW,
      durationMs: expect.any(Number) as unknown,
      outcome: 'issued',
      errorCode: undefined,
      errorMessage: undefined,
      errorCause: undefined,
      trustDomain: 'cluster.local',
      clusterId: 'Kubernetes',
      caller: {
        identity,
        method: 'token-review',
        podName: 'app-1',
        podUid: 'uid-app-1',
        nodeName: 'node-a',
      },
      subject: identity,
      subjectPod: { name: 'app-1', uid: 'uid-app-1', nodeName: 'node-a' },
      csrSha256: csrValidator.sha256,
      key: { algorithm: 'EC', bits: 256, curve: 'P-256' },
      decision: { effect: 'allow', layer: 'server', rule: 'ttl', reason: undefined, audits: [] },
      certificate: {
        serialHex: FAKE_CERTIFICATE.serialHex,
        notBefore: signer.notBefore,
        notAfter: new Date(signer.notBefore.getTime() + 7200_000),
        issuerFingerprint: FAKE_CERTIFICATE.issuerFingerprint,
        ttlAdjustment: 'max',
      },
    });
    expect(event.durationMs).toBeGreaterThanOrEqual(0);
    expect(service.inFlight).toBe(0);
  });

  it('records ca-expiry as the TTL adjustment when the signer capped the certificate', async () => {
    const { service, signer, recorder } = setup();
    signer.cappedByCa = true;
    await service.createCertificate(request(), CREDENTIALS, new AbortController().signal);
    expect(recorder.only().certificate?.ttlAdjustment).toBe('ca-expiry');
  });

  it('gives every request its own id', async () => {
    const { service, recorder } = setup();
    for (let i = 0; i < 3; i++) {
      await service.createCertificate(request(), CREDENTIALS, new AbortController().signal);
    }
    expect(new Set(recorder.events.map((event) => event.requestId)).size).toBe(3);
  });

  /** Where a refusal comes from, what the client gets, and what the event knows by then. */
  interface RefusalCase {
    readonly name: string;
    readonly arrange: (fakes: ServiceFixture) => void;
    readonly request?: Partial<CertificateRequest>;
    readonly impersonation?: boolean;
    readonly kind: ErrorKind;
    readonly code: MeshCaErrorCode;
    readonly clientMessage: string | RegExp;
    /** Which stages the event has reached. */
    readonly knows: {
      readonly caller: boolean;
      readonly subject?: string;
      readonly csr: boolean;
      readonly decision: boolean;
    };
    readonly signed?: boolean;
  }

  const refusals: readonly RefusalCase[] = [
    {
      name: 'unauthenticated',
      arrange: ({ authenticator }) => {
        authenticator.failure = new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'bad token');
      },
      kind: 'unauthenticated',
      code: 'ERR_AUTH_TOKEN_INVALID',
      clientMessage: 'authentication failed',
      knows: { caller: false, csr: false, decision: false },
    },
    {
      name: 'authentication unavailable (TokenReview down)',
      arrange: ({ authenticator }) => {
        authenticator.failure = new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'no answer');
      },
      kind: 'unavailable',
      code: 'ERR_TOKEN_REVIEW_UNAVAILABLE',
      clientMessage: 'the CA is temporarily unavailable, retry later',
      knows: { caller: false, csr: false, decision: false },
    },
    {
      name: 'impersonation not configured',
      arrange: () => undefined,
      impersonation: false,
      request: { impersonatedIdentity: IMPERSONATED },
      kind: 'unauthenticated',
      code: 'ERR_IMPERSONATION_DENIED',
      clientMessage: 'impersonation not authorized',
      knows: { caller: true, csr: false, decision: false },
    },
    {
      name: 'impersonation of something that is not a workload SPIFFE ID',
      arrange: () => undefined,
      request: { impersonatedIdentity: 'spiffe://cluster.local/ns/shop' },
      kind: 'unauthenticated',
      code: 'ERR_IMPERSONATION_DENIED',
      clientMessage: 'impersonation not authorized',
      knows: { caller: true, csr: false, decision: false },
    },
    {
      name: 'impersonation outside the trust domain',
      arrange: () => undefined,
      request: { impersonatedIdentity: 'spiffe://other.example/ns/shop/sa/cart' },
      kind: 'unauthenticated',
      code: 'ERR_IMPERSONATION_DENIED',
      clientMessage: 'impersonation not authorized',
      knows: { caller: true, csr: false, decision: false },
    },
    {
      name: 'impersonation refused by the node authorizer',
      arrange: ({ impersonation }) => {
        impersonation!.failure = new UnauthenticatedError(
          'ERR_IMPERSONATION_DENIED',
          'no instances of shop/cart found on node node-a',
        );
      },
      request: { impersonatedIdentity: IMPERSONATED },
      kind: 'unauthenticated',
      code: 'ERR_IMPERSONATION_DENIED',
      clientMessage: 'impersonation not authorized',
      knows: { caller: true, csr: false, decision: false },
    },
    {
      name: 'an invalid CSR',
      arrange: ({ csrValidator }) => {
        csrValidator.failure = new InvalidRequestError('ERR_CSR_PEM', 'CSR is not PEM');
      },
      kind: 'invalid',
      code: 'ERR_CSR_PEM',
      clientMessage: 'CSR is not PEM',
      knows: {
        caller: true,
        subject: 'spiffe://cluster.local/ns/default/sa/app',
        csr: false,
        decision: false,
      },
    },
    {
      name: 'a CSR for an identity the caller does not own',
      arrange: ({ csrValidator }) => {
        csrValidator.failure = new PermissionDeniedError(
          'ERR_CSR_IDENTITY_NOT_OWNED',
          'CSR asks for spiffe://cluster.local/ns/x/sa/y',
        );
      },
      kind: 'denied',
      code: 'ERR_CSR_IDENTITY_NOT_OWNED',
      clientMessage: 'CSR asks for spiffe://cluster.local/ns/x/sa/y',
      knows: {
        caller: true,
        subject: 'spiffe://cluster.local/ns/default/sa/app',
        csr: false,
        decision: false,
      },
    },
    {
      name: 'a decision that cannot be taken now',
      arrange: ({ decider }) => {
        decider.failure = new UnavailableError('ERR_CA_NOT_READY', 'policy not loaded');
      },
      kind: 'unavailable',
      code: 'ERR_CA_NOT_READY',
      clientMessage: 'the CA is temporarily unavailable, retry later',
      knows: {
        caller: true,
        subject: 'spiffe://cluster.local/ns/default/sa/app',
        csr: true,
        decision: false,
      },
    },
    {
      name: 'a gate refusal',
      arrange: ({ gates }) => {
        gates[0]!.refusal = new UnavailableError('ERR_OVERLOADED', 'ledger spool full');
      },
      kind: 'unavailable',
      code: 'ERR_OVERLOADED',
      clientMessage: 'the CA is temporarily unavailable, retry later',
      knows: {
        caller: true,
        subject: 'spiffe://cluster.local/ns/default/sa/app',
        csr: true,
        decision: true,
      },
    },
    {
      name: 'a signer failure',
      arrange: ({ signer }) => {
        signer.failure = new InternalError('ERR_SIGNING_FAILED', 'the CA key failed to sign');
      },
      kind: 'internal',
      code: 'ERR_SIGNING_FAILED',
      clientMessage: 'internal error',
      knows: {
        caller: true,
        subject: 'spiffe://cluster.local/ns/default/sa/app',
        csr: true,
        decision: true,
      },
      signed: true,
    },
    {
      name: 'the CA not loaded yet',
      arrange: ({ signer }) => {
        signer.failure = new UnavailableError('ERR_CA_NOT_READY', 'no CA material is loaded yet');
      },
      kind: 'unavailable',
      code: 'ERR_CA_NOT_READY',
      clientMessage: 'the CA is temporarily unavailable, retry later',
      knows: {
        caller: true,
        subject: 'spiffe://cluster.local/ns/default/sa/app',
        csr: true,
        decision: true,
      },
      signed: true,
    },
    {
      name: 'a bug (not a MeshCaError)',
      arrange: ({ signer }) => {
        signer.failure = new TypeError("Cannot read properties of undefined (reading 'pem')");
      },
      kind: 'internal',
      code: 'ERR_INTERNAL',
      clientMessage: 'internal error',
      knows: {
        caller: true,
        subject: 'spiffe://cluster.local/ns/default/sa/app',
        csr: true,
        decision: true,
      },
      signed: true,
    },
  ];

  it.each(refusals)('refuses $name', async (testCase) => {
    const fakes = setup({ impersonation: testCase.impersonation !== false });
    testCase.arrange(fakes);
    const error = await refusal(
      fakes.service.createCertificate(
        request(testCase.request),
        CREDENTIALS,
        new AbortController().signal,
      ),
    );
    expect(error.kind).toBe(testCase.kind);
    expect(error.code).toBe(testCase.code);
    if (typeof testCase.clientMessage === 'string') {
      expect(error.clientMessage).toBe(testCase.clientMessage);
    } else {
      expect(error.clientMessage).toMatch(testCase.clientMessage);
    }
    const event = fakes.recorder.only();
    expect(Object.isFrozen(event)).toBe(true);
    expect(event).toMatchObject({
      outcome: testCase.kind,
      errorCode: testCase.code,
      errorMessage: error.message,
      certificate: undefined,
    });
    expect(event.caller !== undefined).toBe(testCase.knows.caller);
    expect(event.clusterId).toBe(testCase.knows.caller ? 'Kubernetes' : undefined);
    expect(event.subject?.uri).toBe(testCase.knows.subject);
    expect(event.csrSha256 !== undefined).toBe(testCase.knows.csr);
    expect(event.decision !== undefined).toBe(testCase.knows.decision);
    expect(fakes.signer.calls.length > 0).toBe(testCase.signed ?? false);
    expect(fakes.service.inFlight).toBe(0);
  });

  it('keeps the cause of a bug for the log, not for the client', async () => {
    const { service, signer, recorder } = setup();
    signer.failure = new TypeError('undefined is not a function');
    const error = await refusal(
      service.createCertificate(request(), CREDENTIALS, new AbortController().signal),
    );
    expect(error).toBeInstanceOf(InternalError);
    expect(error.cause).toBe(signer.failure);
    expect(error.clientMessage).toBe('internal error');
    expect(recorder.only()).toMatchObject({
      errorMessage: 'undefined is not a function',
      errorCause: 'undefined is not a function',
    });
  });

  describe('policy', () => {
    const audits: PolicyVerdict[] = [
      { effect: 'audit', layer: 'central', rule: 'no-rsa', reason: 'would deny RSA keys' },
    ];

    it.each([
      ['with a reason', 'prod namespaces only', 'policy central/prod-only: prod namespaces only'],
      ['without a reason', undefined, 'policy central/prod-only: denied'],
    ])(
      'turns a deny decision %s into PERMISSION_DENIED naming the rule',
      async (_name, reason, message) => {
        const { service, decider, signer, gates, recorder } = setup();
        decider.decision = allowDecision({
          effect: 'deny',
          layer: 'central',
          rule: 'prod-only',
          reason,
          audits,
        });
        const error = await refusal(
          service.createCertificate(request(), CREDENTIALS, new AbortController().signal),
        );
        expect(error).toBeInstanceOf(PermissionDeniedError);
        expect(error.code).toBe('ERR_POLICY_DENIED');
        expect(error.message).toBe(message);
        expect(error.clientMessage).toBe(message);
        expect(signer.calls).toHaveLength(0);
        expect(gates[0]?.checks).toBe(0);
        expect(recorder.only()).toMatchObject({
          outcome: 'denied',
          errorCode: 'ERR_POLICY_DENIED',
          decision: { effect: 'deny', layer: 'central', rule: 'prod-only', reason, audits },
          certificate: undefined,
        });
      },
    );

    it('carries audit verdicts into the event of an issued certificate', async () => {
      const { service, decider, recorder } = setup();
      decider.decision = allowDecision({ layer: 'local', rule: 'default', audits });
      await service.createCertificate(request(), CREDENTIALS, new AbortController().signal);
      expect(recorder.only()).toMatchObject({
        outcome: 'issued',
        decision: { effect: 'allow', layer: 'local', rule: 'default', audits },
      });
    });
  });

  describe('gates', () => {
    it('asks every gate before signing, and stops at the first refusal', async () => {
      const { service, gates, signer } = setup({ gates: 3 });
      gates[1]!.refusal = new UnavailableError('ERR_OVERLOADED', 'ledger spool full');
      const error = await refusal(
        service.createCertificate(request(), CREDENTIALS, new AbortController().signal),
      );
      expect(error).toBe(gates[1]!.refusal);
      expect(gates.map((gate) => gate.checks)).toEqual([1, 1, 0]);
      expect(signer.calls).toHaveLength(0);
    });
  });

  it('leaves the node out when the pod cache does not know the caller pod', async () => {
    const caller: Caller = makeCaller({ podName: 'gone', podUid: 'uid-gone' });
    const { service, authenticator, recorder } = setup({ pods: new FakePodDirectory() });
    authenticator.caller = caller;
    await service.createCertificate(request(), CREDENTIALS, new AbortController().signal);
    const event: IssuanceEvent = recorder.only();
    expect(event.caller?.nodeName).toBeUndefined();
    expect(event.subjectPod).toEqual({ name: 'gone', uid: 'uid-gone', nodeName: undefined });
  });
});
