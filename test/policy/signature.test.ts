/**
 * Signed central policies: detached JWS (RFC 7515 appendix F) made by meshca or by openssl
 * (examples/policy/sign-with-openssl.sh, run for real), verified against PEM or JWKS keys, with
 * rotation, and refused when tampered with, signed by another key, or malformed.
 */
import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import {
  PolicySignatureError,
  PolicySignatureVerifier,
  signPolicy,
} from '../../src/policy/index.js';
import { REPO_ROOT, opensslUnavailableReason } from '../support/environment.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const DOCUMENT = readFileSync(join(REPO_ROOT, 'examples/policy/central-baseline.yaml'));

type KeyKind = 'ec-p256' | 'ec-p384' | 'rsa' | 'ed25519';

interface TestKey {
  readonly privatePem: string;
  readonly publicPem: string;
  readonly publicKey: KeyObject;
}

function generate(kind: KeyKind): TestKey {
  const pair =
    kind === 'ec-p256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'ec-p384'
        ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
        : kind === 'rsa'
          ? generateKeyPairSync('rsa', { modulusLength: 2048 })
          : generateKeyPairSync('ed25519');
  return {
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKey: pair.publicKey,
  };
}

/** Writes public keys to a PEM file and returns a verifier over it. */
async function verifierFor(...keys: TestKey[]): Promise<PolicySignatureVerifier> {
  const file = join(tempDir('meshca-keys-'), 'keys.pem');
  writeFileSync(file, keys.map((key) => key.publicPem).join(''));
  return PolicySignatureVerifier.fromFiles([file]);
}

async function failure(promise: Promise<unknown>): Promise<PolicySignatureError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PolicySignatureError) return error;
    throw error;
  }
  throw new Error('verified');
}

afterAll(removeTempDirs);

describe('signPolicy and PolicySignatureVerifier', () => {
  it.each<[KeyKind, string]>([
    ['ec-p256', 'ES256'],
    ['ec-p384', 'ES384'],
    ['rsa', 'RS256'],
    ['ed25519', 'EdDSA'],
  ])('%s: a detached JWS with alg %s and the key thumbprint as kid', async (kind, alg) => {
    const key = generate(kind);
    const signature = await signPolicy(key.privatePem, DOCUMENT);
    const [header, payload, value] = signature.split('.');
    expect(payload).toBe('');
    expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
    const thumbprint = await calculateJwkThumbprint(await exportJWK(key.publicKey), 'sha256');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({
      alg,
      kid: thumbprint,
    });
    await expect((await verifierFor(key)).verify(DOCUMENT, signature)).resolves.toEqual({
      kid: thumbprint,
      algorithm: alg,
    });
  });

  it('refuses a document changed by one byte', async () => {
    const key = generate('ec-p256');
    const signature = await signPolicy(key.privatePem, DOCUMENT);
    const changed = Buffer.from(DOCUMENT);
    changed[changed.length - 1] = 0x20;
    const error = await failure((await verifierFor(key)).verify(changed, signature));
    expect(error.failure).toBe('bad-signature');
    expect(error.message).toBe('the signature does not verify under any configured key');
  });

  it('refuses a signature by another key (named by its kid)', async () => {
    const signature = await signPolicy(generate('ec-p256').privatePem, DOCUMENT);
    const error = await failure(
      (await verifierFor(generate('ec-p256'))).verify(DOCUMENT, signature),
    );
    expect(error).toMatchObject({ failure: 'bad-signature' });
    expect(error.message).toMatch(/^the signature names an unknown key \(kid [\w-]+\)$/);
  });

  it('refuses a signature by another key without a kid (every key is tried)', async () => {
    const other = generate('rsa');
    const signature = await signPolicy(other.privatePem, DOCUMENT);
    const [header, , value] = signature.split('.');
    const noKid = Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url');
    expect(header).not.toBe(noKid);
    const error = await failure(
      (await verifierFor(generate('rsa'), generate('ec-p256'))).verify(
        DOCUMENT,
        `${noKid}..${value!}`,
      ),
    );
    expect(error.message).toBe('the signature does not verify under any configured key');
  });

  it.each<[string, string, RegExp]>([
    ['not a JWS', 'hello', /not a JWS compact serialization/],
    ['an attached payload', 'eyJhbGciOiJFUzI1NiJ9.eyJ4IjoxfQ.c2ln', /not detached/],
    ['a header that is not JSON', 'bm90IGpzb24..c2ln', /not base64url JSON/],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}..`, /does not verify/],
  ])('refuses %s', async (_name, signature, message) => {
    const error = await failure(
      (await verifierFor(generate('ec-p256'))).verify(DOCUMENT, signature),
    );
    expect(error.failure).toBe('bad-signature');
    expect(error.message).toMatch(message);
  });

  it('a signature with an algorithm the key does not use is refused', async () => {
    // An RSA signature presented as HS256 with the public key as secret: the classic confusion.
    const key = generate('rsa');
    const signature = await signPolicy(key.privatePem, DOCUMENT);
    const [, , value] = signature.split('.');
    const hs = Buffer.from('{"alg":"HS256"}').toString('base64url');
    await expect((await verifierFor(key)).verify(DOCUMENT, `${hs}..${value!}`)).rejects.toThrow(
      PolicySignatureError,
    );
  });

  it('rotation: with the old and the new key, both verify; with the new only, the old is refused', async () => {
    const old = generate('ec-p256');
    const next = generate('ec-p384');
    const byOld = await signPolicy(old.privatePem, DOCUMENT);
    const byNew = await signPolicy(next.privatePem, DOCUMENT);
    const both = await verifierFor(old, next);
    await expect(both.verify(DOCUMENT, byOld)).resolves.toMatchObject({ algorithm: 'ES256' });
    await expect(both.verify(DOCUMENT, byNew)).resolves.toMatchObject({ algorithm: 'ES384' });
    const newOnly = await verifierFor(next);
    await expect(newOnly.verify(DOCUMENT, byNew)).resolves.toMatchObject({ algorithm: 'ES384' });
    expect((await failure(newOnly.verify(DOCUMENT, byOld))).failure).toBe('bad-signature');
  });

  it('reads a JWKS, selecting a key by its own kid', async () => {
    const a = generate('ec-p256');
    const b = generate('rsa');
    const file = join(tempDir('meshca-jwks-'), 'jwks.json');
    writeFileSync(
      file,
      JSON.stringify({
        keys: [
          { ...(await exportJWK(a.publicKey)), kid: 'security-2030' },
          { ...(await exportJWK(b.publicKey)), kid: 'security-2031' },
        ],
      }),
    );
    const verifier = await PolicySignatureVerifier.fromFiles([file]);
    expect(verifier.keys.map((key) => key.kid)).toEqual(['security-2030', 'security-2031']);
    // meshca's own signature names the thumbprint, which matches too.
    await expect(
      verifier.verify(DOCUMENT, await signPolicy(b.privatePem, DOCUMENT)),
    ).resolves.toEqual({
      kid: 'security-2031',
      algorithm: 'RS256',
    });
  });

  it.each<[string, string, RegExp]>([
    [
      'a private key',
      generate('ec-p256').privatePem,
      /holds a private key; give meshca only the public key/,
    ],
    ['no key', 'hello\n', /no public key found/],
    ['a JWKS without keys', '{"kid": "x"}', /needs a "keys" array/],
    [
      'a JWKS with a private key',
      JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b', d: 'c' }] }),
      /keys\[0\] is a private key/,
    ],
    ['broken JSON', '{"keys": [', /not valid JSON/],
  ])('refuses a key file with %s', async (_name, content, message) => {
    const file = join(tempDir('meshca-keys-'), 'key');
    writeFileSync(file, content);
    await expect(PolicySignatureVerifier.fromFiles([file])).rejects.toThrow(message);
  });

  it('several files add up', async () => {
    const dir = tempDir('meshca-keys-');
    const a = generate('ec-p256');
    const b = generate('ed25519');
    writeFileSync(join(dir, 'a.pem'), a.publicPem);
    writeFileSync(join(dir, 'b.pem'), b.publicPem);
    const verifier = await PolicySignatureVerifier.fromFiles([
      join(dir, 'a.pem'),
      join(dir, 'b.pem'),
    ]);
    expect(verifier.keys).toHaveLength(2);
    await expect(
      verifier.verify(DOCUMENT, await signPolicy(b.privatePem, DOCUMENT)),
    ).resolves.toMatchObject({
      algorithm: 'EdDSA',
    });
  });

  it.each<[string, string]>([
    [
      'a weak RSA key',
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    ],
    ['a public key', generate('ec-p256').publicPem],
    ['garbage', 'not a key'],
    [
      'an RSA-PSS-only key',
      generateKeyPairSync('rsa-pss', { modulusLength: 2048 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    ],
  ])('signPolicy refuses %s', async (_name, pem) => {
    await expect(signPolicy(pem, DOCUMENT)).rejects.toThrow();
  });
});

const opensslSkip = opensslUnavailableReason();
(opensslSkip === undefined ? describe : describe.skip)('signing with openssl (no meshca)', () => {
  const script = join(REPO_ROOT, 'examples/policy/sign-with-openssl.sh');

  function opensslKey(args: string[]): { privateFile: string; publicPem: string } {
    const dir = tempDir('meshca-openssl-');
    const privateFile = join(dir, 'key.pem');
    const result = spawnSync('openssl', ['genpkey', ...args, '-out', privateFile], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    const publicPem = createPublicKey(readFileSync(privateFile))
      .export({ type: 'spki', format: 'pem' })
      .toString();
    return { privateFile, publicPem };
  }

  it.each<[string, string[], number]>([
    ['RS256', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], 1],
    // DER-to-raw conversion: repeated, so that short and high-bit integers both occur.
    ['ES256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 12],
    ['ES384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 4],
    ['EdDSA', ['-algorithm', 'ED25519'], 1],
  ])('the documented script makes %s signatures meshca verifies', async (alg, keyArgs, rounds) => {
    const key = opensslKey(keyArgs);
    const verifier = await verifierFor({
      privatePem: '',
      publicPem: key.publicPem,
      publicKey: createPublicKey(key.publicPem),
    });
    for (let round = 0; round < rounds; round++) {
      const dir = tempDir('meshca-openssl-');
      const policy = join(dir, 'central.yaml');
      writeFileSync(policy, Buffer.concat([DOCUMENT, Buffer.from(`# round ${round}\n`)]));
      const result = spawnSync('sh', [script, alg, key.privateFile, policy], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const signature = readFileSync(`${policy}.jws`, 'utf8');
      expect(signature.split('.')[1]).toBe('');
      await expect(verifier.verify(readFileSync(policy), signature)).resolves.toMatchObject({
        algorithm: alg,
      });
    }
  });
});
