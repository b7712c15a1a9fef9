import * as asn1js from 'asn1js';
import { OID_AT_COMMON_NAME, OID_AT_ORGANIZATION, buildName } from '../../src/asn1/index.js';

const OID_AT_COUNTRY = '2.5.4.6';
const TAG_PRINTABLE_STRING = 19;
const TAG_UTF8_STRING = 12;

/** The DER of a built name. */
const der = (attributes: Parameters<typeof buildName>[0]): Buffer =>
  Buffer.from(buildName(attributes).toSchema().toBER(false));

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue). */
function rdns(name: Buffer): { type: string; tag: number; value: string }[][] {
  const sequence = asn1js.fromBER(name).result as asn1js.Sequence;
  return sequence.valueBlock.value.map((rdn) =>
    (rdn as asn1js.Set).valueBlock.value.map((atv) => {
      const [type, value] = (atv as asn1js.Sequence).valueBlock.value as [
        asn1js.ObjectIdentifier,
        asn1js.Utf8String | asn1js.PrintableString,
      ];
      return { type: type.getValue(), tag: value.idBlock.tagNumber, value: value.getValue() };
    }),
  );
}

describe('buildName', () => {
  it('encodes the empty name as an empty SEQUENCE (ztunnel subject)', () => {
    expect(der([]).toString('hex')).toBe('3000');
  });

  it('encodes O= as Go does for istio-agent: one RDN, empty PrintableString', () => {
    expect(der([{ type: OID_AT_ORGANIZATION, value: '' }]).toString('hex')).toBe(
      '300b31093007060355040a1300',
    );
  });

  it('puts each attribute in its own RDN, in order', () => {
    const name = der([
      { type: OID_AT_COUNTRY, value: 'NL' },
      { type: OID_AT_ORGANIZATION, value: 'meshca' },
      { type: OID_AT_COMMON_NAME, value: 'root' },
    ]);
    expect(rdns(name)).toEqual([
      [{ type: OID_AT_COUNTRY, tag: TAG_UTF8_STRING, value: 'NL' }],
      [{ type: OID_AT_ORGANIZATION, tag: TAG_PRINTABLE_STRING, value: 'meshca' }],
      [{ type: OID_AT_COMMON_NAME, tag: TAG_UTF8_STRING, value: 'root' }],
    ]);
  });

  it('keeps the RDN structure in what pkijs holds (it would otherwise merge them)', () => {
    const name = buildName([
      { type: OID_AT_ORGANIZATION, value: 'meshca' },
      { type: OID_AT_COMMON_NAME, value: 'root' },
    ]);
    expect(name.typesAndValues.map((tv) => tv.type)).toEqual([
      OID_AT_ORGANIZATION,
      OID_AT_COMMON_NAME,
    ]);
    expect(rdns(Buffer.from(name.toSchema().toBER(false)))).toHaveLength(2);
  });

  // X.680 §41.4: PrintableString is A-Z a-z 0-9 space ' ( ) + , - . / : = ?
  it.each([
    ['meshca tests', TAG_PRINTABLE_STRING],
    ["A-Z a-z 0-9 '()+,-./:=?", TAG_PRINTABLE_STRING],
    ['', TAG_PRINTABLE_STRING],
    ['R&D', TAG_UTF8_STRING],
    ['a*b', TAG_UTF8_STRING],
    ['mail@example', TAG_UTF8_STRING],
    ['under_score', TAG_UTF8_STRING],
    ['Zürich', TAG_UTF8_STRING],
    ['line\nbreak', TAG_UTF8_STRING],
  ])('encodes organization %j with tag %i', (value, tag) => {
    expect(rdns(der([{ type: OID_AT_ORGANIZATION, value }]))).toEqual([
      [{ type: OID_AT_ORGANIZATION, tag, value }],
    ]);
  });

  it('uses UTF8String for other attributes even when printable', () => {
    expect(rdns(der([{ type: OID_AT_COMMON_NAME, value: 'root' }]))[0]![0]!.tag).toBe(
      TAG_UTF8_STRING,
    );
  });
});
