import { encodeLength, tlv, unsignedInteger, x509Time } from '../../src/asn1/index.js';

describe('encodeLength', () => {
  it.each([
    [0, '00'],
    [127, '7f'],
    [128, '8180'],
    [255, '81ff'],
    [256, '820100'],
    [65535, '82ffff'],
    [65536, '83010000'],
  ])('encodes %i as %s (X.690 §8.1.3)', (length, hex) => {
    expect(encodeLength(length).toString('hex')).toBe(hex);
  });

  it.each([-1, 1.5, Number.NaN])('refuses %p', (length) => {
    expect(() => encodeLength(length)).toThrow(TypeError);
  });
});

describe('tlv', () => {
  it('concatenates parts under one tag', () => {
    expect(tlv(0x30, Buffer.from([1]), Buffer.from([2, 3])).toString('hex')).toBe('3003010203');
  });
});

describe('unsignedInteger', () => {
  it.each([
    ['00', '020100'],
    ['7f', '02017f'],
    ['80', '02020080'],
    ['0001', '020101'],
    ['000080', '02020080'],
  ])('encodes magnitude %s minimally as %s', (magnitude, hex) => {
    expect(unsignedInteger(Buffer.from(magnitude, 'hex')).toString('hex')).toBe(hex);
  });
});

describe('x509Time', () => {
  it('uses UTCTime through 2049 (RFC 5280 §4.1.2.5)', () => {
    const der = x509Time(new Date('2049-12-31T23:59:59.999Z'));
    expect(der[0]).toBe(0x17);
    expect(der.subarray(2).toString('latin1')).toBe('491231235959Z');
  });

  it('uses GeneralizedTime from 2050', () => {
    const der = x509Time(new Date('2050-01-01T00:00:00Z'));
    expect(der[0]).toBe(0x18);
    expect(der.subarray(2).toString('latin1')).toBe('20500101000000Z');
  });
});
