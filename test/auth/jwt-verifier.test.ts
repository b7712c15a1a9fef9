import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import {
  JwtVerifier,
  serviceAccountFromClaims,
  type JwtVerifierOptions,
} from '../../src/auth/index.js';
import { FixedClock } from '../../src/clock.js';
import { UnauthenticatedError, UnavailableError, type MeshCaErrorCode } from '../../src/errors.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import {
  AUDIENCE,
  ISSUER,
  makeSigningKey,
  signToken,
  writeJwks,
  type SigningKey,
  type TokenSpec,
} from './jwt-fixtures.js';

const NOW = new Date('2030-06-01T12:00:00Z');
const NOW_S = NOW.getTime() / 1000;

let es256: SigningKey;
let rs256: SigningKey;
/** Not in any JWKS. */
let stranger: SigningKey;
let jwksFile: string;

function verifier(
  overrides: Partial<JwtVerifierOptions> = {},
  clock = new FixedClock(NOW),
): JwtVerifier {
  return new JwtVerifier(
    {
      jwks: { kind: 'file', path: jwksFile },
      issuer: ISSUER,
      audiences: [AUDIENCE],
      clockToleranceSeconds: 30,
      ...overrides,
    },
    clock,
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  [es256, rs256, stranger] = await Promise.all([
    makeSigningKey('ES256', 'es-key'),
    makeSigningKey('RS256', 'rs-key'),
    makeSigningKey('ES256', 'stranger'),
  ]);
  jwksFile = join(tempDir(), 'jwks.json');
  await writeJwks(jwksFile, [es256, rs256]);
});

afterAll(removeTempDirs);

describe('JwtVerifier with a JWKS file', () => {
  it('is the jwt method', () => {
    expect(verifier().method).toBe('jwt');
  });

  it.each(['ES256', 'RS256'] as const)(
    'accepts a Kubernetes-shaped %s token and reads its service account and pod',
    async (alg) => {
      const key = alg === 'ES256' ? es256 : rs256;
      const token = await signToken(key, { now: NOW_S, exp: NOW_S + 600 });
      await expect(verifier().verify(token)).resolves.toEqual({
        namespace: 'bookinfo',
        serviceAccount: 'reviews',
        podName: 'reviews-v1-abc',
        podUid: 'pod-uid-1',
        expiresAt: new Date((NOW_S + 600) * 1000),
      });
    },
  );

  it('accepts a token that is not pod-bound, without pod facts', async () => {
    const token = await signToken(es256, { now: NOW_S, pod: null });
    const result = await verifier().verify(token);
    expect(result.podName).toBeUndefined();
    expect(result.podUid).toBeUndefined();
    expect(result.serviceAccount).toBe('reviews');
  });

  it('accepts a token whose aud holds one of several accepted audiences', async () => {
    const token = await signToken(es256, { now: NOW_S, aud: ['unrelated', 'second'] });
    await expect(
      verifier({ audiences: [AUDIENCE, 'second'] }).verify(token),
    ).resolves.toMatchObject({ namespace: 'bookinfo' });
  });

  it.each<[string, number, number | undefined]>([
    ['expired within the clock tolerance', NOW_S - 3600, NOW_S - 20],
    ['valid from within the clock tolerance', NOW_S, undefined],
  ])('accepts a token %s', async (_name, iat, exp) => {
    const spec: TokenSpec = exp === undefined ? { now: iat, nbf: NOW_S + 20 } : { now: iat, exp };
    await expect(verifier().verify(await signToken(es256, spec))).resolves.toMatchObject({
      serviceAccount: 'reviews',
    });
  });

  const refusals: [string, () => Promise<string>, MeshCaErrorCode][] = [
    [
      'an expired token',
      () => signToken(es256, { now: NOW_S - 7200, exp: NOW_S - 3600 }),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token expired just beyond the clock tolerance',
      () => signToken(es256, { now: NOW_S - 7200, exp: NOW_S - 31 }),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token not yet valid',
      () => signToken(es256, { now: NOW_S, nbf: NOW_S + 600 }),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token from another issuer',
      () => signToken(es256, { now: NOW_S, iss: 'https://other.example' }),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token for another audience',
      () => signToken(es256, { now: NOW_S, aud: ['vault'] }),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token with a bad signature (other key, known kid)',
      () => signToken(stranger, { now: NOW_S, kid: es256.kid }),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token signed by an unknown key',
      () => signToken(stranger, { now: NOW_S }),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token with alg none',
      () =>
        Promise.resolve(
          new UnsecuredJWT({
            'kubernetes.io': { namespace: 'bookinfo', serviceaccount: { name: 'reviews' } },
          })
            .setIssuer(ISSUER)
            .setAudience(AUDIENCE)
            .setSubject('system:serviceaccount:bookinfo:reviews')
            .setExpirationTime(NOW_S + 600)
            .encode(),
        ),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token with an HMAC signature',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', kid: es256.kid })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject('system:serviceaccount:bookinfo:reviews')
          .setExpirationTime(NOW_S + 600)
          .sign(new Uint8Array(32)),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    [
      'a token without exp',
      () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: es256.kid })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject('system:serviceaccount:bookinfo:reviews')
          .sign(es256.privateKey),
      'ERR_AUTH_TOKEN_INVALID',
    ],
    ['a token that is not a JWT', () => Promise.resolve('not-a-jwt'), 'ERR_AUTH_TOKEN_INVALID'],
    [
      'a sub that does not match the kubernetes.io claim',
      () => signToken(es256, { now: NOW_S, sub: 'system:serviceaccount:bookinfo:admin' }),
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'a token without the kubernetes.io claim',
      () => signToken(es256, { now: NOW_S, kubernetes: null }),
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
    [
      'a kubernetes.io claim without a service account',
      () => signToken(es256, { now: NOW_S, kubernetes: { namespace: 'bookinfo' } }),
      'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT',
    ],
  ];

  it.each(refusals)('refuses %s', async (_name, makeToken, code) => {
    const error = await rejection(verifier().verify(await makeToken()));
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(error).toMatchObject({ code });
  });

  it('judges expiry by the injected clock', async () => {
    const clock = new FixedClock(NOW);
    const subject = verifier({ clockToleranceSeconds: 0 }, clock);
    const token = await signToken(es256, { now: NOW_S, exp: NOW_S + 60 });
    await expect(subject.verify(token)).resolves.toMatchObject({ namespace: 'bookinfo' });
    clock.advance(61_000);
    await expect(subject.verify(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('reloads a rewritten JWKS file when a token names a key it lacks (rotation)', async () => {
    const file = join(tempDir(), 'jwks.json');
    const old = await makeSigningKey('ES256', 'old');
    const rotated = await makeSigningKey('RS256', 'rotated');
    await writeJwks(file, [old]);
    const subject = verifier({ jwks: { kind: 'file', path: file } });
    await expect(subject.verify(await signToken(old, { now: NOW_S }))).resolves.toBeDefined();

    const rotatedToken = await signToken(rotated, { now: NOW_S });
    await writeJwks(file, [rotated]);
    // A real rotation happens long after the last read; say so explicitly, so that file systems
    // with coarse timestamps cannot give both versions the same mtime.
    const later = new Date(Date.now() + 60_000);
    await utimes(file, later, later);
    await expect(subject.verify(rotatedToken)).resolves.toMatchObject({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
    });
  });

  it('stays unavailable, not unauthenticated, while the JWKS file is missing', async () => {
    const subject = verifier({ jwks: { kind: 'file', path: join(tempDir(), 'absent.json') } });
    const error = await rejection(subject.verify(await signToken(es256, { now: NOW_S })));
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error).toMatchObject({ code: 'ERR_TOKEN_REVIEW_UNAVAILABLE' });
  });

  it.each<[string, string]>([
    ['not JSON', '{ not json'],
    ['not a key set', '{"keys": "nope"}'],
  ])('is unavailable when the JWKS file is %s', async (_name, content) => {
    const file = join(tempDir(), 'jwks.json');
    await writeFile(file, content);
    const subject = verifier({ jwks: { kind: 'file', path: file } });
    const error = await rejection(subject.verify(await signToken(es256, { now: NOW_S })));
    expect(error).toBeInstanceOf(UnavailableError);
  });
});

/**
 * The URL source over plain HTTP on loopback: the verifier fetches with the global fetch, which
 * cannot be told to trust a test CA without NODE_EXTRA_CA_CERTS at process start, so the TLS
 * part is not exercised here (config refuses http JWKS URLs; see test/config/schema.test.ts).
 */
describe('JwtVerifier with a JWKS URL', () => {
  let server: Server;
  let base: string;
  let status = 200;
  let body = '';
  let requests = 0;

  beforeAll(async () => {
    server = createServer((_request, response) => {
      requests++;
      response.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    status = 200;
    body = JSON.stringify({ keys: [es256.jwk, rs256.jwk] });
    requests = 0;
  });

  it('fetches the key set once and verifies tokens against it', async () => {
    const subject = verifier({ jwks: { kind: 'url', url: new URL('/openid/v1/jwks', base) } });
    await expect(subject.verify(await signToken(rs256, { now: NOW_S }))).resolves.toMatchObject({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
    });
    await expect(subject.verify(await signToken(es256, { now: NOW_S }))).resolves.toBeDefined();
    expect(requests).toBe(1);
  });

  it('refuses a token signed by a key the server does not publish', async () => {
    const subject = verifier({ jwks: { kind: 'url', url: new URL('/jwks', base) } });
    await expect(subject.verify(await signToken(stranger, { now: NOW_S }))).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
  });

  it('is unavailable when the JWKS endpoint answers with an error status', async () => {
    status = 503;
    body = 'overloaded';
    const subject = verifier({ jwks: { kind: 'url', url: new URL('/jwks', base) } });
    const error = await rejection(subject.verify(await signToken(es256, { now: NOW_S })));
    expect(error).toBeInstanceOf(UnavailableError);
  });

  it('is unavailable when the JWKS endpoint cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const subject = verifier({ jwks: { kind: 'url', url: new URL(`http://127.0.0.1:${port}/`) } });
    const error = await rejection(subject.verify(await signToken(es256, { now: NOW_S })));
    expect(error).toBeInstanceOf(UnavailableError);
  });
});

describe('serviceAccountFromClaims', () => {
  const kube = {
    namespace: 'ns',
    serviceaccount: { name: 'sa', uid: 'u' },
    pod: { name: 'p', uid: 'pu' },
  };

  it('reads namespace, service account, pod and exp', () => {
    expect(
      serviceAccountFromClaims({
        sub: 'system:serviceaccount:ns:sa',
        exp: 1_800_000_000,
        'kubernetes.io': kube,
      }),
    ).toEqual({
      namespace: 'ns',
      serviceAccount: 'sa',
      podName: 'p',
      podUid: 'pu',
      expiresAt: new Date(1_800_000_000_000),
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['no kubernetes.io claim', { sub: 'system:serviceaccount:ns:sa' }],
    ['a kubernetes.io claim that is not an object', { 'kubernetes.io': 'ns/sa' }],
    ['an empty namespace', { 'kubernetes.io': { ...kube, namespace: '' } }],
    ['a non-string service account', { 'kubernetes.io': { ...kube, serviceaccount: { name: 7 } } }],
    ['no sub', { 'kubernetes.io': kube }],
    [
      'a sub for another namespace',
      { sub: 'system:serviceaccount:other:sa', 'kubernetes.io': kube },
    ],
  ])('refuses %s', (_name, payload) => {
    expect(() => serviceAccountFromClaims(payload)).toThrow(
      expect.objectContaining({ code: 'ERR_AUTH_TOKEN_NOT_SERVICE_ACCOUNT' }) as Error,
    );
  });

  it('ignores pod fields that are not strings', () => {
    const result = serviceAccountFromClaims({
      sub: 'system:serviceaccount:ns:sa',
      'kubernetes.io': { ...kube, pod: { name: 1, uid: null } },
    });
    expect(result.podName).toBeUndefined();
    expect(result.podUid).toBeUndefined();
    expect(result.expiresAt).toBeUndefined();
  });
});
