/**
 * Public-key and signature-algorithm rules for CSRs. Istio's clients send RSA-2048 (istio-agent's
 * default), ECDSA P-256 (ztunnel, or the agent with ECC_SIGNATURE_ALGORITHM=ECDSA) or P-384
 * (ECC_CURVE=P384); signatures use SHA-256 or stronger (ISTIO-CONTRACT.md §2.5, §3).
 *
 * @module
 */
import type { JsonWebKey } from 'node:crypto';
import { InvalidRequestError, errorMessage, quoteInput } from '../errors.js';
import type { ProofVerifier } from './proof.js';
import { parseSpki } from './spki.js';
import {
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_SHA256_WITH_RSA,
  OID_SHA384_WITH_RSA,
  OID_SHA512_WITH_RSA,
} from '../asn1/index.js';

/** Curves a policy may allow, by their NIST names. */
export type CurveName = 'P-256' | 'P-384';

/** A CSR key that passed the key policy. */
export interface CsrKey {
  readonly algorithm: 'RSA' | 'EC';
  /** Modulus length for RSA, field size for EC. */
  readonly bits: number;
  readonly curve: CurveName | undefined;
  /**
   * The key for the proof-of-possession check, which imports it (and so checks an EC point is on
   * its curve): importing costs more than every other rule together, so it is not done here.
   */
  readonly jwk: JsonWebKey;
}

/** Which keys meshca signs. */
export interface KeyPolicyOptions {
  /** NIST SP 800-57: RSA below 2048 bits is not acceptable; configuration may only raise it. */
  readonly minRsaBits: number;
  /** Upper bound that keeps one request's verification cost bounded. */
  readonly maxRsaBits: number;
  readonly allowedCurves: readonly CurveName[];
}

/** meshca's defaults: RSA 2048..8192, ECDSA P-256 and P-384. */
export const DEFAULT_KEY_POLICY: KeyPolicyOptions = {
  minRsaBits: 2048,
  maxRsaBits: 8192,
  allowedCurves: ['P-256', 'P-384'],
};

const MAX_RSA_EXPONENT = 2n ** 31n - 1n;

const CURVE_BITS: Readonly<Record<CurveName, number>> = { 'P-256': 256, 'P-384': 384 };

/** Signature algorithm OID → [key algorithm it needs, Node digest name]. */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, readonly ['RSA' | 'EC', string]>> = {
  [OID_SHA256_WITH_RSA]: ['RSA', 'sha256'],
  [OID_SHA384_WITH_RSA]: ['RSA', 'sha384'],
  [OID_SHA512_WITH_RSA]: ['RSA', 'sha512'],
  [OID_ECDSA_WITH_SHA256]: ['EC', 'sha256'],
  [OID_ECDSA_WITH_SHA384]: ['EC', 'sha384'],
  [OID_ECDSA_WITH_SHA512]: ['EC', 'sha512'],
};

/**
 * Reads the CSR's public key and checks it against the policy.
 *
 * @throws {@link InvalidRequestError} `ERR_CSR_KEY_ALGORITHM`, `ERR_CSR_KEY_SIZE` or
 * `ERR_CSR_KEY_CURVE`.
 */
export function inspectKey(spkiDer: Buffer, policy: KeyPolicyOptions): CsrKey {
  let key;
  try {
    key = parseSpki(spkiDer);
  } catch (error) {
    throw new InvalidRequestError(
      'ERR_CSR_KEY_ALGORITHM',
      `CSR public key cannot be read (unsupported algorithm or malformed key): ${errorMessage(error)}`,
      { cause: error },
    );
  }
  switch (key.kind) {
    case 'rsa': {
      const { bits } = key;
      if (bits < policy.minRsaBits || bits > policy.maxRsaBits) {
        throw new InvalidRequestError(
          'ERR_CSR_KEY_SIZE',
          `CSR RSA key has ${bits} bits; allowed: ${policy.minRsaBits} to ${policy.maxRsaBits}`,
        );
      }
      // NIST SP 800-56B / FIPS 186-5: the public exponent is odd and at least 65537. Go's
      // crypto/rsa (istiod, istio-agent) refuses exponents above 2^31 - 1, and a huge one would
      // make each verification cost hundreds of times more.
      const exponent = BigInt(`0x${key.exponent.toString('hex')}`);
      if (exponent < 65537n || exponent > MAX_RSA_EXPONENT || exponent % 2n === 0n) {
        throw new InvalidRequestError(
          'ERR_CSR_KEY_SIZE',
          'CSR RSA key has a public exponent that is even or outside 65537 to 2^31 - 1',
        );
      }
      const jwk = {
        kty: 'RSA',
        n: key.modulus.toString('base64url'),
        e: key.exponent.toString('base64url'),
      };
      return { algorithm: 'RSA', bits, curve: undefined, jwk };
    }
    case 'ec': {
      const curve = key.curve as CurveName;
      if (!(curve in CURVE_BITS) || !policy.allowedCurves.includes(curve)) {
        throw new InvalidRequestError(
          'ERR_CSR_KEY_CURVE',
          `CSR ECDSA key uses curve ${quoteInput(key.curve)}; allowed: ${policy.allowedCurves.join(', ')}`,
        );
      }
      // The proof-of-possession check imports it, which checks that the point is on the curve.
      const jwk = {
        kty: 'EC',
        crv: curve,
        x: key.x.toString('base64url'),
        y: key.y.toString('base64url'),
      };
      return { algorithm: 'EC', bits: CURVE_BITS[curve], curve, jwk };
    }
    case 'other':
      throw new InvalidRequestError(
        'ERR_CSR_KEY_ALGORITHM',
        `CSR key algorithm ${quoteInput(key.algorithm)} is not allowed; use RSA or ECDSA`,
      );
  }
}

/**
 * Returns the Node digest for a CSR signature algorithm, refusing weak or mismatched ones
 * (SHA-1, MD5, RSASSA-PSS, an ECDSA signature on an RSA key...).
 *
 * @throws {@link InvalidRequestError} `ERR_CSR_SIGNATURE_ALGORITHM`.
 */
export function signatureDigest(algorithmOid: string, key: CsrKey): string {
  const entry = SIGNATURE_ALGORITHMS[algorithmOid];
  if (entry === undefined) {
    throw new InvalidRequestError(
      'ERR_CSR_SIGNATURE_ALGORITHM',
      `CSR signature algorithm ${quoteInput(algorithmOid)} is not allowed; use SHA-256 or stronger with RSA PKCS#1 v1.5 or ECDSA`,
    );
  }
  const [keyAlgorithm, digest] = entry;
  if (keyAlgorithm !== key.algorithm) {
    throw new InvalidRequestError(
      'ERR_CSR_SIGNATURE_ALGORITHM',
      `CSR signature algorithm ${quoteInput(algorithmOid)} does not match its ${key.algorithm} key`,
    );
  }
  return digest;
}

/**
 * Proof of possession (RFC 2986 §3): the request is signed by the key it carries. `verifier`
 * imports the key and checks the signature off the event loop.
 *
 * @throws {@link InvalidRequestError} `ERR_CSR_SIGNATURE`, or `ERR_CSR_KEY_ALGORITHM` when the key
 * cannot be imported (an EC point off its curve).
 */
export async function verifyProofOfPossession(
  infoDer: Buffer,
  signature: Buffer,
  digest: string,
  key: CsrKey,
  verifier: ProofVerifier,
): Promise<void> {
  const outcome = await verifier.verify({ infoDer, signature, digest, jwk: key.jwk });
  if (outcome === 'unreadable-key') {
    throw new InvalidRequestError(
      'ERR_CSR_KEY_ALGORITHM',
      'CSR public key cannot be read (unsupported algorithm or malformed key)',
    );
  }
  if (outcome !== 'valid') {
    throw new InvalidRequestError(
      'ERR_CSR_SIGNATURE',
      'CSR signature does not verify with its own public key',
    );
  }
}
