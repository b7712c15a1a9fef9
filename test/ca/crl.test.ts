import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crlPem, crlToBeSigned, isCrlReason, signCrl } from '../../src/ca/index.js';
import type { CaKeyType, CrlEntry } from '../../src/ca/index.js';
import { opensslUnavailableReason } from '../support/environment.js';
import { createTestPki } from '../support/pki.js';
import { run } from '../support/process.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const opensslMissing = opensslUnavailableReason();
const now = new Date('2026-03-01T12:00:00Z');
const HOUR = 3600_000;

/** `openssl crl -verify -text` of `der` against `caPem`. */
async function openssl(der: Buffer, caPem: string): Promise<{ code: number | null; text: string }> {
  const dir = tempDir('meshca-crl-');
  writeFileSync(join(dir, 'crl.pem'), crlPem(der));
  writeFileSync(join(dir, 'ca.pem'), caPem);
  const result = await run('openssl', [
    'crl',
    '-in',
    join(dir, 'crl.pem'),
    '-CAfile',
    join(dir, 'ca.pem'),
    '-verify',
    '-noout',
    '-text',
  ]);
  return { code: result.code, text: `${result.stdout}\n${result.stderr}` };
}

(opensslMissing === undefined ? describe : describe.skip)('signCrl', () => {
  it.each<[CaKeyType]>([['ec-p256'], ['ec-p384'], ['rsa-2048']])(
    'makes a v2 CRL that openssl verifies against the intermediate (%s)',
    async (keyType) => {
      const pki = await createTestPki({ keyType, now });
      const entries: CrlEntry[] = [
        {
          serialHex: '7f' + '01'.repeat(15),
          revokedAt: new Date(now.getTime() - HOUR),
          reason: 'cessationOfOperation',
        },
        { serialHex: '00ab', revokedAt: now, reason: 'keyCompromise' },
        { serialHex: 'ff'.repeat(16), revokedAt: now, reason: 'unspecified' },
      ];
      const der = await signCrl(pki.signing.cert, pki.signing.key.privateKey, {
        crlNumber: 7n,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + 24 * HOUR),
        entries,
      });
      const { code, text } = await openssl(der, pki.signing.cert.pem);
      expect(text).toContain('verify OK');
      expect(code).toBe(0);
      expect(text).toMatch(/Version 2 \(0x1\)/);
      expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*7/);
      expect(text).toContain('Last Update: Mar  1 12:00:00 2026 GMT');
      expect(text).toContain('Next Update: Mar  2 12:00:00 2026 GMT');
      const aki = pki.signing.cert.keyIdentifier
        .toString('hex')
        .toUpperCase()
        .match(/../g)!
        .join(':');
      expect(text).toContain(aki);
      expect(text).toContain(`Serial Number: 7F${'01'.repeat(15).toUpperCase()}`);
      expect(text).toContain('Serial Number: AB');
      expect(text).toContain(`Serial Number: ${'FF'.repeat(16)}\n`);
      expect(text).toContain('Cessation Of Operation');
      expect(text).toContain('Key Compromise');
      // The unspecified entry carries no reason code (RFC 5280 §5.3.1).
      expect(text.match(/CRL Reason Code/g)).toHaveLength(2);
    },
    60_000,
  );

  it('lists nothing when nothing is revoked, and still verifies', async () => {
    const pki = await createTestPki({ now });
    const der = await signCrl(pki.signing.cert, pki.signing.key.privateKey, {
      crlNumber: 2n ** 100n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + HOUR),
      entries: [],
    });
    const { code, text } = await openssl(der, pki.signing.cert.pem);
    expect(code).toBe(0);
    expect(text).toContain('No Revoked Certificates');
    expect(text).toContain((2n ** 100n).toString(10));
  });

  it('does not verify against another CA', async () => {
    const pki = await createTestPki({ now });
    const other = await createTestPki({ now, name: 'test' });
    const der = await signCrl(pki.signing.cert, pki.signing.key.privateKey, {
      crlNumber: 1n,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + HOUR),
      entries: [],
    });
    const { text } = await openssl(der, other.signing.cert.pem);
    expect(text).not.toContain('verify OK');
  });
});

describe('crlToBeSigned', () => {
  it.each<[string, Partial<Parameters<typeof crlToBeSigned>[2]>, RegExp]>([
    ['a negative CRL number', { crlNumber: -1n }, /non-negative/],
    ['a CRL number over 20 octets', { crlNumber: 2n ** 160n }, /20 octets/],
    ['nextUpdate not after thisUpdate', { nextUpdate: now }, /nextUpdate/],
    [
      'a serial that is not hex',
      { entries: [{ serialHex: 'xyz', revokedAt: now, reason: 'superseded' }] },
      /bad serial/,
    ],
  ])('refuses %s', async (_name, change, message) => {
    const pki = await createTestPki({ now });
    expect(() =>
      crlToBeSigned(pki.signing.cert, Buffer.from([0x30, 0x00]), {
        crlNumber: 1n,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + HOUR),
        entries: [],
        ...change,
      }),
    ).toThrow(message);
  });

  it('knows the RFC 5280 reason names', () => {
    expect(['keyCompromise', 'cessationOfOperation', 'superseded'].every(isCrlReason)).toBe(true);
    expect(isCrlReason('toString')).toBe(false);
    expect(isCrlReason('pod-deleted')).toBe(false);
  });
});
