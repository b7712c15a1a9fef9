/**
 * Signed central policies: a detached JWS (RFC 7515 appendix F) over the policy file's exact
 * bytes. The signature is a JWS Compact Serialization whose payload segment is empty,
 * `BASE64URL(header)..BASE64URL(signature)`; the signing input is the usual
 * `BASE64URL(header) '.' BASE64URL(file bytes)` (RFC 7515 §5.1), so any JWS library, or openssl
 * and a base64url encoder, can make one.
 *
 * Verification keys are given at start-up (PEM files of public keys, or a JWKS file); several
 * keys may be configured at once so that the security team can rotate: a signature by any of
 * them verifies. A JWS header `kid` selects the key (by its JWKS `kid` or its RFC 7638 SHA-256
 * thumbprint); without one, every key of a compatible type is tried.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CompactSign, calculateJwkThumbprint, compactVerify, exportJWK, type JWK } from 'jose';
import { PolicySignatureError } from './errors.js';

/** One key a central policy may be signed with. */
export interface PolicyVerificationKey {
  /** The JWKS `kid`, else the key's RFC 7638 SHA-256 thumbprint. */
  readonly kid: string;
  /** RFC 7638 SHA-256 thumbprint (base64url). */
  readonly thumbprint: string;
  readonly key: KeyObject;
  /** The JWS algorithms this key verifies. */
  readonly algorithms: readonly string[];
  /** Where it came from, for logs. */
  readonly source: string;
}

/** A successful verification. */
export interface VerifiedSignature {
  /** The `kid` of the key that verified it. */
  readonly kid: string;
  readonly algorithm: string;
}

/** The longest signature file read (a JWS header and one signature are a few hundred bytes). */
const MAX_SIGNATURE_BYTES = 16 * 1024;

/** Verifies detached signatures of central policies. */
export class PolicySignatureVerifier {
  readonly keys: readonly PolicyVerificationKey[];

  constructor(keys: readonly PolicyVerificationKey[]) {
    if (keys.length === 0) throw new TypeError('a policy signature verifier needs a key');
    this.keys = keys;
  }

  /**
   * Reads verification keys from files: each a PEM file with one or more `PUBLIC KEY` blocks, or
   * a JWKS (`{"keys": [...]}`).
   *
   * @throws `Error` naming the file when it holds no usable public key (or a private one).
   */
  static async fromFiles(paths: readonly string[]): Promise<PolicySignatureVerifier> {
    const keys: PolicyVerificationKey[] = [];
    for (const path of paths) keys.push(...(await keysFromFile(path)));
    return new PolicySignatureVerifier(keys);
  }

  /**
   * Verifies `signature` (a detached compact JWS) over `document`.
   *
   * @throws {@link PolicySignatureError} `bad-signature` when it is malformed, names an unknown
   * key, or verifies under no configured key.
   */
  async verify(document: Uint8Array, signature: string): Promise<VerifiedSignature> {
    const bad = (message: string, cause?: unknown): PolicySignatureError =>
      new PolicySignatureError('bad-signature', message, { cause });
    const text = signature.trim();
    if (text.length > MAX_SIGNATURE_BYTES) throw bad('the signature is too large');
    const parts = text.split('.');
    if (parts.length !== 3) throw bad('the signature is not a JWS compact serialization');
    const [header = '', payload, value = ''] = parts;
    if (payload !== '') {
      throw bad('the signature is not detached: its payload segment must be empty (RFC 7515 F)');
    }
    let protectedHeader: { alg?: unknown; kid?: unknown };
    try {
      protectedHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as {
        alg?: unknown;
        kid?: unknown;
      };
    } catch (error) {
      throw bad('the signature header is not base64url JSON', error);
    }
    const kid = typeof protectedHeader.kid === 'string' ? protectedHeader.kid : undefined;
    const candidates =
      kid === undefined
        ? this.keys
        : this.keys.filter((key) => key.kid === kid || key.thumbprint === kid);
    if (candidates.length === 0) throw bad(`the signature names an unknown key (kid ${kid})`);
    const jws = `${header}.${Buffer.from(document).toString('base64url')}.${value}`;
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        const result = await compactVerify(jws, candidate.key, {
          algorithms: [...candidate.algorithms],
        });
        return { kid: candidate.kid, algorithm: result.protectedHeader.alg };
      } catch (error) {
        lastError = error;
      }
    }
    throw bad('the signature does not verify under any configured key', lastError);
  }
}

/**
 * Signs a policy file's exact bytes: the detached compact JWS (`header..signature`) to store
 * next to it. The algorithm follows the key: ES256/ES384/ES512 for EC P-256/P-384/P-521, RS256
 * for RSA (at least 2048 bits), EdDSA for Ed25519. The header carries the
 * key's RFC 7638 thumbprint as `kid`.
 *
 * @throws `Error` for a key that is not a private key of a supported type.
 */
export async function signPolicy(privateKeyPem: string, document: Uint8Array): Promise<string> {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new Error('the signing key is not a PEM private key', { cause: error });
  }
  const algorithm = signingAlgorithm(key);
  const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(key)), 'sha256');
  const jws = await new CompactSign(document).setProtectedHeader({ alg: algorithm, kid }).sign(key);
  const [header = '', , value = ''] = jws.split('.');
  return `${header}..${value}`;
}

/** The JWS algorithm a private key signs with. */
function signingAlgorithm(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      switch (details?.namedCurve) {
        case 'prime256v1':
          return 'ES256';
        case 'secp384r1':
          return 'ES384';
        case 'secp521r1':
          return 'ES512';
        default:
          throw new Error(`unsupported EC curve ${details?.namedCurve ?? '(unknown)'}`);
      }
    case 'rsa':
      if ((details?.modulusLength ?? 0) < 2048) throw new Error('RSA keys need at least 2048 bits');
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
    default:
      throw new Error(`unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}`);
  }
}

/** The JWS algorithms a public key verifies. */
function verificationAlgorithms(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'ec':
      switch (key.asymmetricKeyDetails?.namedCurve) {
        case 'prime256v1':
          return ['ES256'];
        case 'secp384r1':
          return ['ES384'];
        case 'secp521r1':
          return ['ES512'];
        default:
          return [];
      }
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'ed25519':
      return ['EdDSA', 'Ed25519'];
    default:
      return [];
  }
}

async function keysFromFile(path: string): Promise<PolicyVerificationKey[]> {
  const text = await readFile(path, 'utf8');
  const keys: PolicyVerificationKey[] = [];
  if (text.trimStart().startsWith('{')) {
    let jwks: { keys?: unknown };
    try {
      jwks = JSON.parse(text) as { keys?: unknown };
    } catch (error) {
      throw new Error(`${path}: not valid JSON`, { cause: error });
    }
    if (!Array.isArray(jwks.keys)) throw new Error(`${path}: a JWKS needs a "keys" array`);
    for (const [index, jwk] of (jwks.keys as JWK[]).entries()) {
      if (typeof jwk.d === 'string') throw new Error(`${path}: keys[${index}] is a private key`);
      let key: KeyObject;
      try {
        key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      } catch (error) {
        throw new Error(`${path}: keys[${index}] is not a usable public key`, { cause: error });
      }
      keys.push(await verificationKey(key, `${path}#${index}`, jwk.kid));
    }
  } else {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
      throw new Error(`${path}: holds a private key; give meshca only the public key`);
    }
    const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
    for (const [index, block] of blocks.entries()) {
      keys.push(await verificationKey(createPublicKey(block), `${path}#${index}`, undefined));
    }
  }
  if (keys.length === 0) throw new Error(`${path}: no public key found`);
  return keys;
}

async function verificationKey(
  key: KeyObject,
  source: string,
  kid: string | undefined,
): Promise<PolicyVerificationKey> {
  const algorithms = verificationAlgorithms(key);
  if (algorithms.length === 0) {
    throw new Error(`${source}: unsupported key type ${key.asymmetricKeyType ?? '(unknown)'}`);
  }
  const thumbprint = await calculateJwkThumbprint(await exportJWK(key), 'sha256');
  return { kid: kid ?? thumbprint, thumbprint, key, algorithms, source };
}
