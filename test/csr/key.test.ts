import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
} from 'node:crypto';
import {
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_SHA256_WITH_RSA,
  OID_SHA384_WITH_RSA,
  OID_SHA512_WITH_RSA,
} from '../../src/asn1/index.js';
import {
  DEFAULT_KEY_POLICY,
  inspectKey,
  signatureDigest,
  verifyProofOfPossession,
  type CsrKey,
  type KeyPolicyOptions,
} from '../../src/csr/key.js';
import {
  ProofWorkerPool,
  ThreadPoolProofVerifier,
  type ProofVerifier,
} from '../../src/csr/index.js';
import { InvalidRequestError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { expectRefusal, openssl, opensslKey, pemDer, rsaSpki } from './fixtures.js';

const spkiOf = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/** A P-256 public key written with explicit curve parameters (`openssl ec -param_enc explicit`). */
function explicitCurveSpki(): Buffer {
  const key = opensslKey(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']);
  return pemDer(openssl(['ec', '-param_enc', 'explicit', '-pubout'], key));
}

interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

let rsa2048: KeyPair;
let ecP256: KeyPair;
let ecP384: KeyPair;
let rsaKey: CsrKey;
let ecKey: CsrKey;

beforeAll(() => {
  rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  ecP256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  ecP384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  rsaKey = inspectKey(spkiOf(rsa2048.publicKey), DEFAULT_KEY_POLICY);
  ecKey = inspectKey(spkiOf(ecP256.publicKey), DEFAULT_KEY_POLICY);
});

describe('DEFAULT_KEY_POLICY', () => {
  it('allows RSA 2048..8192 and ECDSA P-256/P-384 (contract §2.5, §3)', () => {
    expect(DEFAULT_KEY_POLICY).toEqual({
      minRsaBits: 2048,
      maxRsaBits: 8192,
      allowedCurves: ['P-256', 'P-384'],
    });
  });
});

describe('inspectKey accepts', () => {
  it.each([
    { name: 'RSA-2048', spki: () => spkiOf(rsa2048.publicKey), algorithm: 'RSA', bits: 2048 },
    {
      name: 'ECDSA P-256',
      spki: () => spkiOf(ecP256.publicKey),
      algorithm: 'EC',
      bits: 256,
      curve: 'P-256',
    },
    {
      name: 'ECDSA P-384',
      spki: () => spkiOf(ecP384.publicKey),
      algorithm: 'EC',
      bits: 384,
      curve: 'P-384',
    },
    {
      name: 'RSA at the upper bound (8192)',
      spki: () => rsaSpki(8192, 65537n),
      algorithm: 'RSA',
      bits: 8192,
    },
    {
      name: 'RSA with the largest exponent Go accepts (2^31 - 1)',
      spki: () => rsaSpki(2048, 2n ** 31n - 1n),
      algorithm: 'RSA',
      bits: 2048,
    },
  ])('$name', ({ spki, algorithm, bits, curve }) => {
    const der = spki();
    const key = inspectKey(der, DEFAULT_KEY_POLICY);
    expect(key.algorithm).toBe(algorithm);
    expect(key.bits).toBe(bits);
    expect(key.curve).toBe(curve);
    // The key the proof-of-possession check imports is the one in the CSR.
    expect(spkiOf(createPublicKey({ key: key.jwk, format: 'jwk' })).equals(der)).toBe(true);
  });
});

describe('inspectKey refuses', () => {
  const invalid = (
    code: 'ERR_CSR_KEY_ALGORITHM' | 'ERR_CSR_KEY_SIZE' | 'ERR_CSR_KEY_CURVE',
    message: RegExp,
  ) => ({
    errorClass: InvalidRequestError,
    code,
    message,
  });

  it.each([
    {
      name: 'bytes that are not a SubjectPublicKeyInfo',
      spki: () => Buffer.from('300302010a', 'hex'),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /cannot be read/),
    },
    {
      name: 'an empty buffer',
      spki: () => Buffer.alloc(0),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /cannot be read/),
    },
    {
      name: 'RSA-1024',
      spki: () => rsaSpki(1024, 65537n),
      ...invalid('ERR_CSR_KEY_SIZE', /RSA key has 1024 bits; allowed: 2048 to 8192/),
    },
    {
      name: 'RSA one bit short of 2048',
      spki: () => rsaSpki(2047, 65537n),
      ...invalid('ERR_CSR_KEY_SIZE', /2047 bits/),
    },
    {
      name: 'RSA one bit above 8192',
      spki: () => rsaSpki(8193, 65537n),
      ...invalid('ERR_CSR_KEY_SIZE', /8193 bits/),
    },
    {
      name: 'RSA with exponent 3 (openssl genpkey rsa_keygen_pubexp:3)',
      spki: () =>
        spkiOf(
          createPublicKey(
            createPrivateKey(
              opensslKey([
                '-algorithm',
                'RSA',
                '-pkeyopt',
                'rsa_keygen_bits:2048',
                '-pkeyopt',
                'rsa_keygen_pubexp:3',
              ]),
            ),
          ),
        ),
      ...invalid('ERR_CSR_KEY_SIZE', /public exponent that is even or outside 65537 to 2\^31 - 1/),
    },
    {
      name: 'RSA with an exponent above what Go accepts (2^32 + 1)',
      spki: () => rsaSpki(2048, 2n ** 32n + 1n),
      ...invalid('ERR_CSR_KEY_SIZE', /public exponent that is even or outside 65537 to 2\^31 - 1/),
    },
    {
      name: 'an EC key with explicit curve parameters (RFC 5480 forbids them)',
      spki: () => explicitCurveSpki(),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /no explicit parameters/),
    },
    {
      name: 'RSA with exponent 65535',
      spki: () => rsaSpki(2048, 65535n),
      ...invalid('ERR_CSR_KEY_SIZE', /public exponent that is even or outside 65537 to 2\^31 - 1/),
    },
    {
      name: 'RSA with an even exponent (65538)',
      spki: () => rsaSpki(2048, 65538n),
      ...invalid('ERR_CSR_KEY_SIZE', /public exponent that is even or outside 65537 to 2\^31 - 1/),
    },
    {
      name: 'an RSA-PSS key',
      spki: () => spkiOf(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /algorithm rsa-pss is not allowed; use RSA or ECDSA/),
    },
    {
      name: 'an Ed25519 key',
      spki: () => spkiOf(generateKeyPairSync('ed25519').publicKey),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /algorithm ed25519 is not allowed/),
    },
    {
      name: 'an Ed448 key',
      spki: () => spkiOf(generateKeyPairSync('ed448').publicKey),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /algorithm ed448 is not allowed/),
    },
    {
      name: 'an X25519 (key agreement) key',
      spki: () => spkiOf(generateKeyPairSync('x25519').publicKey),
      ...invalid('ERR_CSR_KEY_ALGORITHM', /algorithm x25519 is not allowed/),
    },
    {
      name: 'ECDSA P-521',
      spki: () => spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey),
      ...invalid('ERR_CSR_KEY_CURVE', /curve secp521r1; allowed: P-256, P-384/),
    },
    {
      name: 'ECDSA secp256k1',
      spki: () => spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey),
      ...invalid('ERR_CSR_KEY_CURVE', /curve secp256k1/),
    },
  ])('$name', async ({ spki, ...expected }) => {
    const der = spki();
    await expectRefusal(() => inspectKey(der, DEFAULT_KEY_POLICY), expected);
  });

  it.each([
    {
      name: 'a curve the policy leaves out',
      policy: { ...DEFAULT_KEY_POLICY, allowedCurves: ['P-384'] },
      spki: () => spkiOf(ecP256.publicKey),
      code: 'ERR_CSR_KEY_CURVE',
      message: /curve P-256; allowed: P-384$/,
    },
    {
      name: 'RSA below a raised minimum',
      policy: { ...DEFAULT_KEY_POLICY, minRsaBits: 3072 },
      spki: () => spkiOf(rsa2048.publicKey),
      code: 'ERR_CSR_KEY_SIZE',
      message: /2048 bits; allowed: 3072 to 8192/,
    },
    {
      name: 'RSA above a lowered maximum',
      policy: { ...DEFAULT_KEY_POLICY, maxRsaBits: 4096 },
      spki: () => rsaSpki(4097, 65537n),
      code: 'ERR_CSR_KEY_SIZE',
      message: /4097 bits; allowed: 2048 to 4096/,
    },
  ] satisfies {
    name: string;
    policy: KeyPolicyOptions;
    spki: () => Buffer;
    code: 'ERR_CSR_KEY_CURVE' | 'ERR_CSR_KEY_SIZE';
    message: RegExp;
  }[])('$name', async ({ policy, spki, code, message }) => {
    const der = spki();
    await expectRefusal(() => inspectKey(der, policy), {
      errorClass: InvalidRequestError,
      code,
      message,
    });
  });
});

describe('signatureDigest', () => {
  it.each([
    [OID_SHA256_WITH_RSA, 'RSA', 'sha256'],
    [OID_SHA384_WITH_RSA, 'RSA', 'sha384'],
    [OID_SHA512_WITH_RSA, 'RSA', 'sha512'],
    [OID_ECDSA_WITH_SHA256, 'EC', 'sha256'],
    [OID_ECDSA_WITH_SHA384, 'EC', 'sha384'],
    [OID_ECDSA_WITH_SHA512, 'EC', 'sha512'],
  ] as const)('maps %s on an %s key to %s', (oid, algorithm, digest) => {
    expect(signatureDigest(oid, algorithm === 'RSA' ? rsaKey : ecKey)).toBe(digest);
  });

  it.each([
    ['sha1WithRSAEncryption', '1.2.840.113549.1.1.5', 'RSA'],
    ['md5WithRSAEncryption', '1.2.840.113549.1.1.4', 'RSA'],
    ['RSASSA-PSS', '1.2.840.113549.1.1.10', 'RSA'],
    ['ecdsa-with-SHA1', '1.2.840.10045.4.1', 'EC'],
    ['ecdsa-with-SHA224', '1.2.840.10045.4.3.1', 'EC'],
    ['Ed25519', '1.3.101.112', 'EC'],
    ['an empty OID', '', 'RSA'],
  ] as const)('refuses %s (%s) as not allowed', async (_name, oid, algorithm) => {
    await expectRefusal(() => signatureDigest(oid, algorithm === 'RSA' ? rsaKey : ecKey), {
      errorClass: InvalidRequestError,
      code: 'ERR_CSR_SIGNATURE_ALGORITHM',
      message: new RegExp(
        `algorithm ${oid.replaceAll('.', '\\.')} is not allowed; use SHA-256 or stronger`,
      ),
    });
  });

  it.each([
    [OID_SHA256_WITH_RSA, 'EC'],
    [OID_SHA512_WITH_RSA, 'EC'],
    [OID_ECDSA_WITH_SHA256, 'RSA'],
    [OID_ECDSA_WITH_SHA384, 'RSA'],
  ] as const)('refuses %s on an %s key as mismatched', async (oid, algorithm) => {
    await expectRefusal(() => signatureDigest(oid, algorithm === 'RSA' ? rsaKey : ecKey), {
      errorClass: InvalidRequestError,
      code: 'ERR_CSR_SIGNATURE_ALGORITHM',
      message: new RegExp(`${oid.replaceAll('.', '\\.')} does not match its ${algorithm} key`),
    });
  });
});

// Both verifiers must answer alike: the same cases run through each.
const workers = new ProofWorkerPool({ threads: 2 }, silentLogger());
afterAll(() => workers.close());

describe.each<[string, () => ProofVerifier]>([
  ['on the thread pool', () => new ThreadPoolProofVerifier()],
  ['on worker threads', () => workers],
])('verifyProofOfPossession %s', (_, verifier) => {
  const data = Buffer.from('certification request info');

  it.each([
    ['RSA', 'sha256'],
    ['RSA', 'sha512'],
    ['EC', 'sha256'],
    ['EC', 'sha384'],
  ] as const)('resolves for a genuine %s/%s signature', async (algorithm, digest) => {
    const [pair, key] = algorithm === 'RSA' ? [rsa2048, rsaKey] : [ecP256, ecKey];
    const signature = sign(digest, data, pair.privateKey);
    await expect(
      verifyProofOfPossession(data, signature, digest, key, verifier()),
    ).resolves.toBeUndefined();
  });

  const refusal = {
    errorClass: InvalidRequestError,
    code: 'ERR_CSR_SIGNATURE',
    message: /signature does not verify with its own public key/,
  } as const;

  it.each([
    {
      name: 'other signed data',
      run: () =>
        verifyProofOfPossession(
          Buffer.from('something else'),
          sign('sha256', data, ecP256.privateKey),
          'sha256',
          ecKey,
          verifier(),
        ),
    },
    {
      name: 'a digest other than the one signed',
      run: () =>
        verifyProofOfPossession(
          data,
          sign('sha256', data, rsa2048.privateKey),
          'sha384',
          rsaKey,
          verifier(),
        ),
    },
    {
      name: 'a signature by another key',
      run: () =>
        verifyProofOfPossession(
          data,
          sign('sha256', data, ecP384.privateKey),
          'sha256',
          ecKey,
          verifier(),
        ),
    },
    {
      name: 'an empty signature',
      run: () => verifyProofOfPossession(data, Buffer.alloc(0), 'sha256', ecKey, verifier()),
    },
    {
      name: 'an ECDSA signature that is not DER',
      run: () => verifyProofOfPossession(data, Buffer.alloc(64, 1), 'sha256', ecKey, verifier()),
    },
    {
      name: 'an RSA signature of the wrong length',
      run: () => verifyProofOfPossession(data, Buffer.alloc(100, 1), 'sha256', rsaKey, verifier()),
    },
  ])('rejects $name', async ({ run }) => {
    await expectRefusal(run, refusal);
  });

  it('rejects an EC point that is not on its curve as an unreadable key', async () => {
    // A well-formed P-256 SubjectPublicKeyInfo whose point (1, 1) is not on the curve: the
    // structural rules accept it, the import refuses it.
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.alloc(31),
      Buffer.from([1]),
      Buffer.alloc(31),
      Buffer.from([1]),
    ]);
    const spki = Buffer.concat([spkiOf(ecP256.publicKey).subarray(0, -65), point]);
    const offCurve = inspectKey(spki, DEFAULT_KEY_POLICY);
    await expectRefusal(
      () =>
        verifyProofOfPossession(
          data,
          sign('sha256', data, ecP256.privateKey),
          'sha256',
          offCurve,
          verifier(),
        ),
      { errorClass: InvalidRequestError, code: 'ERR_CSR_KEY_ALGORITHM', message: /cannot be read/ },
    );
  });
});
