import { readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { JwtVerifier } from '../../src/auth/index.js';
import { FixedClock } from '../../src/clock.js';
import {
  DEV_TOKEN_ISSUER,
  devTokenIssuerLayout,
  ensureDevTokenIssuer,
  issueDevToken,
  type DevTokenClaims,
} from '../../src/devmode/index.js';
import { UnauthenticatedError } from '../../src/errors.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const NOW = new Date('2030-03-01T08:00:00Z');
const CLAIMS: DevTokenClaims = {
  namespace: 'bookinfo',
  serviceAccount: 'reviews',
  audiences: ['istio-ca'],
  ttlSeconds: 3600,
};

let stateDir: string;

beforeAll(async () => {
  stateDir = tempDir();
  await ensureDevTokenIssuer(stateDir);
});

afterAll(removeTempDirs);

function verifierFor(dir: string, clock = new FixedClock(NOW)): JwtVerifier {
  return new JwtVerifier(
    {
      jwks: { kind: 'file', path: devTokenIssuerLayout(dir).jwksFile },
      issuer: DEV_TOKEN_ISSUER,
      audiences: ['istio-ca'],
      clockToleranceSeconds: 0,
    },
    clock,
  );
}

describe('devTokenIssuerLayout', () => {
  it('keeps the issuer under <stateDir>/token-issuer', () => {
    expect(devTokenIssuerLayout('/var/lib/meshca')).toEqual({
      privateKeyFile: '/var/lib/meshca/token-issuer/signing-key.pem',
      jwksFile: '/var/lib/meshca/token-issuer/jwks.json',
    });
  });
});

describe('ensureDevTokenIssuer', () => {
  it('creates a private key only its owner can read, and a public JWKS', async () => {
    const dir = tempDir();
    await expect(ensureDevTokenIssuer(dir)).resolves.toBe(true);
    const layout = devTokenIssuerLayout(dir);
    expect((await stat(layout.privateKeyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'token-issuer'))).mode & 0o777).toBe(0o700);
    expect(await readFile(layout.privateKeyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const jwks = JSON.parse(await readFile(layout.jwksFile, 'utf8')) as {
      keys: Record<string, unknown>[];
    };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(typeof jwks.keys[0]!['kid']).toBe('string');
    // Public half only.
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('creates them once and leaves them alone afterwards', async () => {
    const dir = tempDir();
    await ensureDevTokenIssuer(dir);
    const layout = devTokenIssuerLayout(dir);
    const key = await readFile(layout.privateKeyFile, 'utf8');
    const jwks = await readFile(layout.jwksFile, 'utf8');
    await expect(ensureDevTokenIssuer(dir)).resolves.toBe(false);
    expect(await readFile(layout.privateKeyFile, 'utf8')).toBe(key);
    expect(await readFile(layout.jwksFile, 'utf8')).toBe(jwks);
  });

  it('recreates both files when one is missing', async () => {
    const dir = tempDir();
    const layout = devTokenIssuerLayout(dir);
    await mkdir(join(dir, 'token-issuer'), { recursive: true });
    await writeFile(layout.privateKeyFile, 'stale');
    await expect(ensureDevTokenIssuer(dir)).resolves.toBe(true);
    expect(await readFile(layout.privateKeyFile, 'utf8')).not.toBe('stale');
    // And the pair is consistent: a token it signs verifies against the JWKS.
    const token = await issueDevToken(dir, CLAIMS, new FixedClock(NOW));
    await expect(verifierFor(dir).verify(token)).resolves.toMatchObject({ namespace: 'bookinfo' });
  });
});

describe('issueDevToken', () => {
  it('mints a token that JwtVerifier accepts with the dev issuer and its JWKS', async () => {
    const token = await issueDevToken(stateDir, CLAIMS, new FixedClock(NOW));
    await expect(verifierFor(stateDir).verify(token)).resolves.toEqual({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
      podName: undefined,
      podUid: undefined,
      expiresAt: new Date(NOW.getTime() + 3600_000),
    });
  });

  it('has the claims of a Kubernetes projected token', async () => {
    const token = await issueDevToken(
      stateDir,
      { ...CLAIMS, audiences: ['istio-ca', 'other'] },
      new FixedClock(NOW),
    );
    const nowS = NOW.getTime() / 1000;
    const header = decodeProtectedHeader(token);
    const jwks = JSON.parse(await readFile(devTokenIssuerLayout(stateDir).jwksFile, 'utf8')) as {
      keys: { kid: string }[];
    };
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT', kid: jwks.keys[0]!.kid });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: DEV_TOKEN_ISSUER,
      sub: 'system:serviceaccount:bookinfo:reviews',
      aud: ['istio-ca', 'other'],
      iat: nowS,
      nbf: nowS,
      exp: nowS + 3600,
      'kubernetes.io': { namespace: 'bookinfo', serviceaccount: { name: 'reviews' } },
    });
    expect(claims['kubernetes.io']).not.toHaveProperty('pod');
  });

  it('binds the token to a pod when asked, as the kubelet does', async () => {
    const token = await issueDevToken(
      stateDir,
      { ...CLAIMS, pod: { name: 'reviews-v1-xyz', uid: '3f1e-uid' } },
      new FixedClock(NOW),
    );
    expect(decodeJwt(token)['kubernetes.io']).toMatchObject({
      pod: { name: 'reviews-v1-xyz', uid: '3f1e-uid' },
    });
    await expect(verifierFor(stateDir).verify(token)).resolves.toMatchObject({
      podName: 'reviews-v1-xyz',
      podUid: '3f1e-uid',
    });
  });

  it('mints tokens that expire after ttlSeconds and are refused for other audiences', async () => {
    const clock = new FixedClock(NOW);
    const token = await issueDevToken(stateDir, { ...CLAIMS, ttlSeconds: 60 }, clock);
    clock.advance(61_000);
    await expect(verifierFor(stateDir, clock).verify(token)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
    const forVault = await issueDevToken(
      stateDir,
      { ...CLAIMS, audiences: ['vault'] },
      new FixedClock(NOW),
    );
    await expect(verifierFor(stateDir).verify(forVault)).rejects.toBeInstanceOf(
      UnauthenticatedError,
    );
  });

  it("is refused by another state directory's issuer", async () => {
    const other = tempDir();
    await ensureDevTokenIssuer(other);
    const token = await issueDevToken(other, CLAIMS, new FixedClock(NOW));
    await expect(verifierFor(stateDir).verify(token)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('fails with a hint when the issuer does not exist yet', async () => {
    const empty = tempDir();
    await expect(issueDevToken(empty, CLAIMS, new FixedClock(NOW))).rejects.toThrow(
      `no development token issuer in ${empty}; run "meshca serve" once to create it`,
    );
  });
});
