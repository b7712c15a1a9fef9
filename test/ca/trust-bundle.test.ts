import { parseCertificatesPem, type ParsedCertificate } from '../../src/asn1/index.js';
import { createTrustBundle, generateCaKey, sameTrustBundle } from '../../src/ca/index.js';
import { DAY, makeCa, wholeSeconds } from './fixtures.js';

const NOW = wholeSeconds(Date.now());

/** Roots by age: `old` < `middle` < `twinA`/`twinB` (same notBefore) by notBefore. */
let old: ParsedCertificate;
let middle: ParsedCertificate;
let twinA: ParsedCertificate;
let twinB: ParsedCertificate;

beforeAll(async () => {
  const root = async (name: string, ageDays: number): Promise<ParsedCertificate> =>
    (
      await makeCa(name, {
        key: generateCaKey('ec-p256'),
        notBefore: new Date(NOW.getTime() - ageDays * DAY),
        notAfter: new Date(NOW.getTime() + 3650 * DAY),
      })
    ).cert;
  const [a, b, c, d] = await Promise.all([
    root('old root', 300),
    root('middle root', 100),
    root('twin root a', 10),
    root('twin root b', 10),
  ]);
  [old, middle] = [a, b];
  // Equal notBefore: the tie is broken by fingerprint, so name the twins in that order.
  [twinA, twinB] = c.sha256 < d.sha256 ? [c, d] : [d, c];
});

const canonical = (): ParsedCertificate[] => [old, middle, twinA, twinB];

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [
      item,
      ...rest,
    ]),
  );
}

describe('createTrustBundle', () => {
  it('orders roots by notBefore, then by fingerprint', () => {
    expect(twinA.notBefore).toEqual(twinB.notBefore);
    expect(twinA.sha256 < twinB.sha256).toBe(true);
    const bundle = createTrustBundle([twinB, middle, twinA, old]);
    expect(bundle.fingerprints).toEqual(canonical().map((root) => root.sha256));
    expect(bundle.roots).toEqual(canonical());
  });

  it('gives the same bytes for every order of the same roots (checklist 27)', () => {
    const expected = canonical()
      .map((root) => root.pem)
      .join('');
    const all = permutations(canonical());
    expect(all).toHaveLength(24);
    for (const order of all) expect(createTrustBundle(order).pem).toBe(expected);
  });

  it('gives the same bytes across calls', () => {
    const first = createTrustBundle([middle, old]);
    const second = createTrustBundle([middle, old]);
    expect(second.pem).toBe(first.pem);
    expect(sameTrustBundle(first, second)).toBe(true);
  });

  it.each([
    ['the same object twice', () => [old, middle, old]],
    [
      'the same root parsed twice',
      () => [old, ...parseCertificatesPem(old.pem + old.pem, 'test'), middle],
    ],
  ])('removes duplicates: %s', (_label, roots) => {
    const bundle = createTrustBundle(roots());
    expect(bundle.fingerprints).toEqual([old.sha256, middle.sha256]);
    expect(bundle.pem).toBe(old.pem + middle.pem);
  });

  it('writes one normalized PEM block per root, each ending in a newline', () => {
    // The same root with CRLF line endings and long lines normalizes to the same bytes.
    const body = old.der.toString('base64');
    const messy = `-----BEGIN CERTIFICATE-----\r\n${body}\r\n-----END CERTIFICATE-----\r\n`;
    const [reparsed] = parseCertificatesPem(messy, 'messy');
    const bundle = createTrustBundle([middle, reparsed!]);

    expect(bundle.pem).toBe(old.pem + middle.pem);
    expect(bundle.pem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    expect(bundle.pem).not.toContain('\r');
    expect(bundle.pem.match(/-----BEGIN CERTIFICATE-----\n/g)).toHaveLength(2);
    expect(bundle.pem.split('\n').every((line) => line.length <= 64)).toBe(true);
    expect(parseCertificatesPem(bundle.pem, 'bundle').map((root) => root.sha256)).toEqual([
      old.sha256,
      middle.sha256,
    ]);
  });

  it('ends a one-root bundle with a newline too', () => {
    const bundle = createTrustBundle([twinB]);
    expect(bundle.pem).toBe(twinB.pem);
    expect(bundle.pem.endsWith('\n')).toBe(true);
  });

  it('refuses an empty list with TypeError', () => {
    expect(() => createTrustBundle([])).toThrow(
      new TypeError('a trust bundle needs at least one root'),
    );
  });
});

describe('sameTrustBundle', () => {
  it.each([
    ['same roots, different order', () => [old, middle], () => [middle, old], true],
    ['same roots, one duplicated', () => [old, middle], () => [old, middle, middle], true],
    ['a root added', () => [old], () => [old, middle], false],
    ['a root replaced', () => [old, middle], () => [old, twinA], false],
  ])('%s → %p', (_label, a, b, expected) => {
    expect(sameTrustBundle(createTrustBundle(a()), createTrustBundle(b()))).toBe(expected);
  });
});
