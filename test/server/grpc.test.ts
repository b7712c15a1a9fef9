/**
 * In-process gRPC over TLS on 127.0.0.1:0: every status code the server can return, through a
 * real grpc-js client (ISTIO-CONTRACT.md §11 A, B, C, E, F).
 */
import { status as Status, type ServiceError } from '@grpc/grpc-js';
import { checkCertificateChain } from '../../src/ca/index.js';
import { FixedClock } from '../../src/clock.js';
import { UnauthenticatedError, UnavailableError } from '../../src/errors.js';
import { MAX_CLIENT_MESSAGE_BYTES } from '../../src/errors.js';
import { extension, forgeCsr, forgeKey, hugeOid, sanExtension } from '../support/csr-forge.js';
import { removeTempDirs } from '../support/tmp.js';
import {
  RawCaClient,
  requestBody,
  struct,
  structEntry,
  value,
  type RawOutcome,
} from '../support/wire.js';
import { csrFor, startHarness, type Harness } from './harness.js';

const ME = 'spiffe://cluster.local/ns/default/sa/app';

async function expectStatus(
  promise: Promise<unknown>,
  code: Status,
  details?: RegExp,
): Promise<ServiceError> {
  const error = (await promise.then(
    () => {
      throw new Error(`expected status ${Status[code]}, got OK`);
    },
    (e: unknown) => e,
  )) as ServiceError;
  expect(Status[error.code]).toBe(Status[code]);
  if (details) expect(error.details).toMatch(details);
  return error;
}

describe('CreateCertificate over gRPC', () => {
  let harness: Harness;
  let ec: { csrPem: string; spkiDer: Buffer };

  beforeAll(async () => {
    harness = await startHarness();
    ec = await csrFor(ME);
  });
  afterAll(async () => {
    await harness.stop();
    removeTempDirs();
  });

  it.each([
    ['istio-agent RSA-2048', 'rsa', 'istio-agent'],
    ['istio-agent ECDSA P-256', 'ec', 'istio-agent'],
    ['istio-agent ECDSA P-384', 'ec-p384', 'istio-agent'],
    ['ztunnel ECDSA P-256', 'ec', 'ztunnel'],
  ] as const)(
    'issues for a %s CSR with the chain in Istio order',
    async (_name, keyType, shape) => {
      const csr = await csrFor(ME, keyType, shape);
      const chain = await harness
        .client()
        .createCertificate({ csrPem: csr.csrPem, token: 'default/app' });
      expect(chain).toHaveLength(3); // leaf, signing intermediate, trust bundle
      for (const element of chain) expect(element.endsWith('\n')).toBe(true);
      expect(chain[2]).toBe(harness.pki.files.rootCertPem);
      const checked = checkCertificateChain(chain, {
        uri: ME,
        spkiDer: csr.spkiDer,
        at: new Date(),
      });
      expect(checked.anchor.sha256).toBe(harness.pki.root.cert.sha256);
    },
  );

  it.each([
    ['0 means the default TTL', '0', 86400],
    ['a negative value means the default TTL', '-5', 86400],
    ['an in-range value is honoured', '3600', 3600],
    ['above the maximum is clamped', '9223372036854775807', 2 * 86400],
  ])('validity_duration: %s', async (_name, validity, expectedSeconds) => {
    const chain = await harness.client().createCertificate({
      csrPem: ec.csrPem,
      token: 'default/app',
      validitySeconds: validity as unknown as number,
    });
    const { leaf } = checkCertificateChain(chain, { uri: ME, spkiDer: ec.spkiDer, at: new Date() });
    // notBefore is backdated 120 s (like istiod's 2 min); notAfter = now + TTL.
    expect((leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 1000).toBe(expectedSeconds + 120);
  });

  it('UNAUTHENTICATED, opaque, when the authenticator refuses', async () => {
    harness.authenticator.behaviour = () =>
      Promise.reject(new UnauthenticatedError('ERR_AUTH_TOKEN_INVALID', 'token expired at 12:00'));
    try {
      const error = await expectStatus(
        harness.client().createCertificate({ csrPem: ec.csrPem, token: 'x' }),
        Status.UNAUTHENTICATED,
        /^authentication failed$/,
      );
      expect(error.details).not.toContain('expired');
      expect(harness.logs().join('\n')).toContain('ERR_AUTH_TOKEN_INVALID');
    } finally {
      harness.authenticator.behaviour = undefined;
    }
  });

  it('UNAUTHENTICATED when impersonation is asked for but not configured', async () => {
    await expectStatus(
      harness.client().createCertificate({
        csrPem: ec.csrPem,
        token: 'default/app',
        metadata: { ImpersonatedIdentity: { stringValue: 'spiffe://cluster.local/ns/other/sa/x' } },
      }),
      Status.UNAUTHENTICATED,
      /^impersonation not authorized$/,
    );
  });

  it('treats an empty ImpersonatedIdentity as absent, as istiod does', async () => {
    const chain = await harness.client().createCertificate({
      csrPem: ec.csrPem,
      token: 'default/app',
      metadata: { ImpersonatedIdentity: { stringValue: '' } },
    });
    expect(checkCertificateChain(chain, { uri: ME, spkiDer: ec.spkiDer, at: new Date() }).uri).toBe(
      ME,
    );
  });

  it('INVALID_ARGUMENT for a non-string ImpersonatedIdentity', async () => {
    await expectStatus(
      harness.client().createCertificate({
        csrPem: ec.csrPem,
        token: 'default/app',
        metadata: { ImpersonatedIdentity: { numberValue: 1 } },
      }),
      Status.INVALID_ARGUMENT,
      /ImpersonatedIdentity must be a string/,
    );
  });

  it.each([
    ['an empty CSR', '', /no CSR/],
    ['garbage', 'not a csr', /PEM block/],
    ['a certificate instead of a CSR', 'CERT', /expected CERTIFICATE REQUEST/],
  ])('INVALID_ARGUMENT for %s, naming the rule', async (_name, csr, details) => {
    const csrPem = csr === 'CERT' ? harness.pki.files.rootCertPem : csr;
    await expectStatus(
      harness.client().createCertificate({ csrPem, token: 'default/app' }),
      Status.INVALID_ARGUMENT,
      details,
    );
  });

  it('PERMISSION_DENIED when the CSR asks for an identity the caller does not own', async () => {
    const other = await csrFor('spiffe://cluster.local/ns/kube-system/sa/admin');
    await expectStatus(
      harness.client().createCertificate({ csrPem: other.csrPem, token: 'default/app' }),
      Status.PERMISSION_DENIED,
      /may only receive spiffe:\/\/cluster.local\/ns\/default\/sa\/app/,
    );
  });

  it('UNAVAILABLE (retried by Istio clients) when token verification is unavailable', async () => {
    harness.authenticator.behaviour = () =>
      Promise.reject(new UnavailableError('ERR_TOKEN_REVIEW_UNAVAILABLE', 'API server down'));
    try {
      await expectStatus(
        harness.client().createCertificate({ csrPem: ec.csrPem, token: 'default/app' }),
        Status.UNAVAILABLE,
        /temporarily unavailable/,
      );
    } finally {
      harness.authenticator.behaviour = undefined;
    }
  });

  it('INTERNAL with a fixed message for an unexpected failure', async () => {
    harness.authenticator.behaviour = () => Promise.reject(new Error('secret internal detail'));
    try {
      const error = await expectStatus(
        harness.client().createCertificate({ csrPem: ec.csrPem, token: 'default/app' }),
        Status.INTERNAL,
        /^internal error$/,
      );
      expect(error.details).not.toContain('secret');
    } finally {
      harness.authenticator.behaviour = undefined;
    }
  });

  it('keeps serving after every kind of failure', async () => {
    const chain = await harness
      .client()
      .createCertificate({ csrPem: ec.csrPem, token: 'default/app' });
    expect(chain).toHaveLength(3);
  });

  describe('bodies grpc-js would have answered with INTERNAL (found by outside tests)', () => {
    let raw: RawCaClient;
    beforeAll(() => {
      raw = new RawCaClient(`localhost:${harness.port}`, harness.pki.files.rootCertPem);
    });
    afterAll(() => {
      raw.close();
    });
    const send = (body: Buffer): Promise<RawOutcome> =>
      raw.call(body, { authorization: 'Bearer default/app' });

    it.each<[string, Buffer]>([
      ['bytes that are not protobuf', Buffer.from('this is not protobuf at all')],
      ['a truncated varint', Buffer.from([0x18, 0x80])],
      ['a string running past the end', Buffer.from([0x0a, 0x40, 0x41])],
      ['a field with the wrong wire type', Buffer.from([0x0f, 0x00])],
      ['a CSR that is not UTF-8', Buffer.from([0x0a, 0x02, 0xc3, 0x28])],
    ])('INVALID_ARGUMENT (not retried), not INTERNAL, for %s', async (_name, body) => {
      const outcome = await send(body);
      expect(Status[outcome.code]).toBe('INVALID_ARGUMENT');
      expect(outcome.details).toMatch(/^request body is not an IstioCertificateRequest: /);
    });

    it('still records every undecodable call as an issuance event: a metric and a log line', async () => {
      const before = harness.logs().length;
      await send(Buffer.from([0xff, 0xff, 0xff]));
      const refused = harness
        .logs()
        .slice(before)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((line) => line['msg'] === 'certificate request refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ code: 'ERR_REQUEST_INVALID' });
      const { body } = await harness.metrics.exposition();
      expect(body).toMatch(
        /meshca_certificate_requests_total\{outcome="invalid",reason="ERR_REQUEST_INVALID"\} [1-9]/,
      );
    });

    it('ignores a metadata entry without key and value, as istiod does, and issues', async () => {
      const outcome = await send(
        requestBody({
          csr: ec.csrPem,
          metadata: struct(
            structEntry(undefined, undefined),
            structEntry('CertSigner', value.string('')),
          ),
        }),
      );
      expect(Status[outcome.code]).toBe('OK');
      expect(outcome.body?.length).toBeGreaterThan(1000);
    });

    it('ignores a key meshca does not read whatever it holds, even no value', async () => {
      const outcome = await send(
        requestBody({ csr: ec.csrPem, metadata: struct(structEntry('CertSigner', undefined)) }),
      );
      expect(Status[outcome.code]).toBe('OK');
    });

    it('refuses an ImpersonatedIdentity entry without a value as not a string', async () => {
      const outcome = await send(
        requestBody({
          csr: ec.csrPem,
          metadata: struct(structEntry('ImpersonatedIdentity', undefined)),
        }),
      );
      expect(Status[outcome.code]).toBe('INVALID_ARGUMENT');
      expect(outcome.details).toBe('metadata.ImpersonatedIdentity must be a string value');
    });
  });

  it('INVALID_ARGUMENT with a short message, not RESOURCE_EXHAUSTED, for an OID of 20,000 arcs', async () => {
    const key = forgeKey();
    const csrPem = forgeCsr(key, ME, {
      extensions: [sanExtension([ME]), extension(hugeOid(20_000), Buffer.from([5, 0]))],
    });
    const error = await expectStatus(
      harness.client().createCertificate({ csrPem, token: 'default/app' }),
      Status.INVALID_ARGUMENT,
      /^CSR requests extension 1\.1\.2\.3\..{0,60}…; only subjectAltName, keyUsage and extKeyUsage are allowed$/,
    );
    expect(Buffer.byteLength(error.details)).toBeLessThan(MAX_CLIENT_MESSAGE_BYTES);
  });

  it('counts outcomes in its metrics', async () => {
    const { body } = await harness.metrics.exposition();
    expect(body).toMatch(/meshca_certificate_requests_total\{outcome="issued",reason="ok"\} \d+/);
    expect(body).toMatch(
      /meshca_certificate_requests_total\{outcome="invalid",reason="ERR_CSR_MISSING"\} 1/,
    );
    expect(body).toMatch(
      /meshca_certificate_requests_total\{outcome="denied",reason="ERR_CSR_IDENTITY_NOT_OWNED"\} 1/,
    );
  });
});

describe('CreateCertificate server-side limits', () => {
  afterAll(removeTempDirs);

  it('UNAVAILABLE when the CA is not loaded', async () => {
    const harness = await startHarness({ installCa: false });
    try {
      const csr = await csrFor(ME);
      await expectStatus(
        harness.client().createCertificate({ csrPem: csr.csrPem, token: 'default/app' }),
        Status.UNAVAILABLE,
      );
      expect(harness.logs().join('\n')).toContain('ERR_CA_NOT_READY');
    } finally {
      await harness.stop();
    }
  });

  it('UNAVAILABLE when the server-side deadline passes (Istio clients send none)', async () => {
    const harness = await startHarness({ requestTimeoutMs: 300 });
    harness.authenticator.behaviour = () => new Promise(() => undefined); // never answers
    try {
      const csr = await csrFor(ME);
      await expectStatus(
        harness.client().createCertificate({ csrPem: csr.csrPem, token: 'default/app' }),
        Status.UNAVAILABLE,
      );
      expect(harness.logs().join('\n')).toContain('ERR_DEADLINE');
    } finally {
      await harness.stop();
    }
  });

  it('UNAVAILABLE beyond maxInFlight, and serves again once the load is gone', async () => {
    const harness = await startHarness({ maxInFlight: 1 });
    let release: () => void = () => undefined;
    const inner = harness.authenticator;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    inner.behaviour = async (credentials, signal) => {
      inner.behaviour = undefined;
      await held;
      return inner.authenticate(credentials, signal);
    };
    try {
      const csr = await csrFor(ME);
      const first = harness
        .client()
        .createCertificate({ csrPem: csr.csrPem, token: 'default/app' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expectStatus(
        harness.client().createCertificate({ csrPem: csr.csrPem, token: 'default/app' }),
        Status.UNAVAILABLE,
      );
      release();
      await expect(first).resolves.toHaveLength(3);
      await expect(
        harness.client().createCertificate({ csrPem: csr.csrPem, token: 'default/app' }),
      ).resolves.toHaveLength(3);
    } finally {
      release();
      await harness.stop();
    }
  });

  it('UNAVAILABLE ERR_RATE_LIMITED for a crash-looping identity, while the rest of the mesh is served', async () => {
    const harness = await startHarness({
      rateLimits: {
        perIdentityPerSecond: 1,
        perIdentityBurst: 5,
        globalPerSecond: 0,
        globalBurst: 0,
        maxIdentities: 100,
      },
    });
    try {
      const looping = await csrFor(ME);
      const client = harness.client();
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () =>
          client.createCertificate({ csrPem: looping.csrPem, token: 'default/app' }).then(
            () => 'OK',
            (error: unknown) =>
              `${Status[(error as ServiceError).code]}: ${(error as ServiceError).details}`,
          ),
        ),
      );
      expect(outcomes.filter((outcome) => outcome === 'OK')).toHaveLength(5);
      expect(new Set(outcomes.filter((outcome) => outcome !== 'OK'))).toEqual(
        new Set([
          'UNAVAILABLE: rate limited: too many certificate requests for this identity, retry later',
        ]),
      );
      const other = await csrFor('spiffe://cluster.local/ns/default/sa/other');
      await expect(
        client.createCertificate({ csrPem: other.csrPem, token: 'default/other' }),
      ).resolves.toHaveLength(3);
      const { body } = await harness.metrics.exposition();
      expect(body).toContain('meshca_rate_limited_total{scope="identity"} 15');
      expect(body).toContain('meshca_rate_limited_total{scope="global"} 0');
      expect(body).toContain(
        'meshca_certificate_requests_total{outcome="unavailable",reason="ERR_RATE_LIMITED"} 15',
      );
    } finally {
      await harness.stop();
    }
  });

  it('INTERNAL when the CA has expired', async () => {
    const harness = await startHarness({
      ttlClock: new FixedClock(new Date('2099-01-01T00:00:00Z')),
    });
    try {
      const csr = await csrFor(ME);
      await expectStatus(
        harness.client().createCertificate({ csrPem: csr.csrPem, token: 'default/app' }),
        Status.INTERNAL,
      );
      expect(harness.logs().join('\n')).toContain('ERR_CA_EXPIRED');
    } finally {
      await harness.stop();
    }
  });
});
