/**
 * Secrets reduced while parsed: private-key values (in entries, in pasted PEM blocks, in the
 * last-applied annotation) never reach the parsed page; names do; certificates are kept.
 */
import {
  CERTIFICATE_KEYS,
  isPrivateKeyName,
  secretListReviver,
  toSecretRecord,
  withoutPrivateKeyBlocks,
  type ReducedSecret,
} from '../../src/kube/index.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n';
const RSA_KEY =
  '-----BEGIN RSA PRIVATE KEY-----\nSECRETRSAMATERIAL\n-----END RSA PRIVATE KEY-----\n';
const b64 = (text: string): string => Buffer.from(text).toString('base64');

const page = JSON.stringify({
  kind: 'SecretList',
  items: [
    {
      metadata: {
        name: 'web',
        namespace: 'team',
        uid: 'u-1',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
            data: { 'tls.key': b64(KEY) },
          }),
        },
        managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:data': { 'f:tls.key': {} } } }],
      },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(CERT + KEY), 'tls.key': b64(KEY), 'ca.crt': b64(CERT) },
    },
    {
      metadata: { name: 'cacerts', namespace: 'istio-system' },
      type: 'Opaque',
      data: {
        'ca-cert.pem': b64(CERT),
        'ca-key.pem': b64(RSA_KEY),
        'cert-chain.pem': b64(CERT),
        'root-cert.pem': b64(CERT),
        password: b64('hunter2'),
      },
    },
  ],
});

describe('secretListReviver', () => {
  const parsed = JSON.parse(page, secretListReviver) as { items: ReducedSecret[] };
  const text = JSON.stringify(parsed);

  it('leaves no private key, password or last-applied copy in the parsed page', () => {
    for (const secret of [KEY, RSA_KEY, 'hunter2']) {
      expect(text).not.toContain(b64(secret));
    }
    expect(text).not.toContain('last-applied');
    expect(text).not.toContain('managedFields');
  });

  it('keeps every entry name and the certificate values', () => {
    expect(parsed.items[0]?.data).toEqual({
      'tls.crt': b64(CERT + KEY),
      'tls.key': '',
      'ca.crt': b64(CERT),
    });
    expect(Object.keys(parsed.items[1]?.data ?? {})).toEqual([
      'ca-cert.pem',
      'ca-key.pem',
      'cert-chain.pem',
      'root-cert.pem',
      'password',
    ]);
  });
});

describe('toSecretRecord', () => {
  const [web, cacerts] = (JSON.parse(page, secretListReviver) as { items: ReducedSecret[] }).items;

  it('decodes certificate entries, cuts pasted keys out and names every key entry', () => {
    const record = toSecretRecord(web!);
    expect(record).toEqual({
      object: { apiVersion: 'v1', kind: 'Secret', namespace: 'team', name: 'web', uid: 'u-1' },
      type: 'kubernetes.io/tls',
      certificateEntries: [
        { key: 'tls.crt', pem: CERT },
        { key: 'ca.crt', pem: CERT },
      ],
      privateKeyEntries: ['tls.crt', 'tls.key'],
    });
    expect(JSON.stringify(record)).not.toContain('SECRETKEYMATERIAL');
  });

  it('reads an Istio cacerts Secret', () => {
    const record = toSecretRecord(cacerts!);
    expect(record.certificateEntries.map((entry) => entry.key)).toEqual([
      'ca-cert.pem',
      'cert-chain.pem',
      'root-cert.pem',
    ]);
    expect(record.privateKeyEntries).toEqual(['ca-key.pem']);
    expect(record.type).toBe('Opaque');
  });

  it('looks only at the documented certificate entries', () => {
    expect(CERTIFICATE_KEYS).toEqual([
      'tls.crt',
      'ca.crt',
      'ca-cert.pem',
      'cert-chain.pem',
      'root-cert.pem',
      'cert',
      'cacert',
    ]);
  });
});

describe('withoutPrivateKeyBlocks', () => {
  const cases: [string, string, string, number][] = [
    ['a certificate alone', CERT, CERT, 0],
    ['a key after a certificate', CERT + KEY, CERT, 1],
    ['a key between certificates', CERT + RSA_KEY + CERT, CERT + CERT, 1],
    [
      'an encrypted and an EC key',
      `${CERT}-----BEGIN ENCRYPTED PRIVATE KEY-----\nX\n-----END ENCRYPTED PRIVATE KEY-----\n-----BEGIN EC PRIVATE KEY-----\nY\n-----END EC PRIVATE KEY-----\n`,
      CERT,
      2,
    ],
    [
      'a key without its END line takes the rest',
      `${CERT}-----BEGIN PRIVATE KEY-----\nZZZ`,
      CERT,
      1,
    ],
    ['no PEM at all', 'hello', 'hello', 0],
  ];
  it.each(cases)('%s', (_name, input, text, blocks) => {
    expect(withoutPrivateKeyBlocks(input)).toEqual({ text, privateKeyBlocks: blocks });
  });
});

describe('isPrivateKeyName', () => {
  it.each([
    ['tls.key', true],
    ['ca-key.pem', true],
    ['key.pem', true],
    ['ca.key', true],
    ['key', true],
    ['private-key', true],
    ['privateKey', true],
    ['tls.crt', false],
    ['ca.crt', false],
    ['root-cert.pem', false],
    ['password', false],
    ['apikey', false],
  ])('%s → %s', (name, expected) => {
    expect(isPrivateKeyName(name)).toBe(expected);
  });
});
