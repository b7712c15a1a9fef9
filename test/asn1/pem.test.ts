import { randomBytes } from 'node:crypto';
import {
  PEM_CERTIFICATE,
  PEM_CERTIFICATE_REQUEST,
  PEM_CERTIFICATE_REQUEST_LEGACY,
  decodePem,
  encodePem,
} from '../../src/asn1/index.js';

const block = (label: string, body: string, end = label): string =>
  `-----BEGIN ${label}-----\n${body}\n-----END ${end}-----\n`;

describe('PEM labels (RFC 7468 §5, §7)', () => {
  it('names certificates and requests', () => {
    expect([PEM_CERTIFICATE, PEM_CERTIFICATE_REQUEST, PEM_CERTIFICATE_REQUEST_LEGACY]).toEqual([
      'CERTIFICATE',
      'CERTIFICATE REQUEST',
      'NEW CERTIFICATE REQUEST',
    ]);
  });
});

describe('encodePem', () => {
  it.each([0, 1, 2, 3, 47, 48, 49, 96, 1000])(
    'round-trips %i bytes with 64-column lines and a final newline',
    (length) => {
      const der = randomBytes(length);
      const pem = encodePem('TEST DATA', der);
      const lines = pem.split('\n');
      expect(lines[0]).toBe('-----BEGIN TEST DATA-----');
      expect(lines.at(-2)).toBe('-----END TEST DATA-----');
      expect(lines.at(-1)).toBe('');
      const body = lines.slice(1, -2);
      for (const line of body.slice(0, -1)) expect(line).toHaveLength(64);
      expect(body.at(-1)!.length).toBeLessThanOrEqual(64);
      expect(body.join('')).toBe(der.toString('base64'));
      expect(decodePem(pem)).toEqual([{ label: 'TEST DATA', der }]);
    },
  );

  it('accepts any Uint8Array, not only Buffers', () => {
    expect(encodePem('X', new Uint8Array([0xfb, 0xff]))).toBe(
      '-----BEGIN X-----\n+/8=\n-----END X-----\n',
    );
  });
});

describe('decodePem', () => {
  const der = Buffer.from('3003020105', 'hex');
  const b64 = der.toString('base64');

  it.each([
    ['no block in plain text', 'hello world', []],
    ['no block in an empty string', '', []],
    ['no block when END is missing', '-----BEGIN CERTIFICATE-----\nMAMCAQU=\n', []],
    ['one block', block('CERTIFICATE', b64), [{ label: 'CERTIFICATE', der }]],
    [
      'blocks in order, with their own labels',
      block('CERTIFICATE', b64) + block('PRIVATE KEY', 'AQID'),
      [
        { label: 'CERTIFICATE', der },
        { label: 'PRIVATE KEY', der: Buffer.from([1, 2, 3]) },
      ],
    ],
    [
      'explanatory text before, between and after blocks (RFC 7468 §5.2)',
      `Subject: CN=x\nIssuer: CN=y\n${block('CERTIFICATE', b64)}-- text --\n${block('CERTIFICATE', 'AQID')}trailer`,
      [
        { label: 'CERTIFICATE', der },
        { label: 'CERTIFICATE', der: Buffer.from([1, 2, 3]) },
      ],
    ],
    [
      'CRLF line endings',
      block('CERTIFICATE', b64).replaceAll('\n', '\r\n'),
      [{ label: 'CERTIFICATE', der }],
    ],
    [
      'whitespace inside the base64 body',
      block('CERTIFICATE', ` MAMC\n\tAQU= \n`),
      [{ label: 'CERTIFICATE', der }],
    ],
    [
      'blocks without newlines between them',
      `-----BEGIN A-----AQID-----END A----------BEGIN B-----${b64}-----END B-----`,
      [
        { label: 'A', der: Buffer.from([1, 2, 3]) },
        { label: 'B', der },
      ],
    ],
    ['an empty body', block('EMPTY', ''), [{ label: 'EMPTY', der: Buffer.alloc(0) }]],
    ['labels with digits and spaces', block('X509 CRL', b64), [{ label: 'X509 CRL', der }]],
  ])('finds %s', (_name, text, expected) => {
    expect(decodePem(text)).toEqual(expected);
  });

  it.each([
    [
      'mismatched BEGIN and END labels',
      block('CERTIFICATE', b64, 'CERTIFICATE REQUEST'),
      'PEM block BEGIN CERTIFICATE ends with END CERTIFICATE REQUEST',
    ],
    [
      'a stray character in the body',
      block('CERTIFICATE', `${b64.slice(0, 4)}*${b64.slice(4)}`),
      'PEM block CERTIFICATE has a body that is not base64',
    ],
    [
      'base64url characters',
      block('CERTIFICATE', '-_8='),
      'PEM block CERTIFICATE has a body that is not base64',
    ],
    [
      'a body whose length is not a multiple of 4',
      block('CERTIFICATE', 'MAMCAQU'),
      'PEM block CERTIFICATE has a body that is not base64',
    ],
    [
      'padding in the middle of the body',
      block('CERTIFICATE', 'AQ==AQID'),
      'PEM block CERTIFICATE has a body that is not base64',
    ],
    [
      'three padding characters',
      block('CERTIFICATE', 'A==='),
      'PEM block CERTIFICATE has a body that is not base64',
    ],
    [
      'RFC 1421 headers inside the block',
      block('RSA PRIVATE KEY', `Proc-Type: 4,ENCRYPTED\n\n${b64}`),
      'PEM block RSA PRIVATE KEY has a body that is not base64',
    ],
    [
      'a bad block after a good one',
      block('CERTIFICATE', b64) + block('CERTIFICATE', '!!!!'),
      'PEM block CERTIFICATE has a body that is not base64',
    ],
  ])('refuses %s', (_name, text, message) => {
    expect(() => decodePem(text)).toThrow(new Error(message));
  });
});
