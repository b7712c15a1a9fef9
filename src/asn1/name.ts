/**
 * Distinguished names with one attribute per RDN, the usual form (`O=meshca, CN=...`). pkijs puts
 * every attribute of a name into a single multi-valued RDN (`O=meshca + CN=...`), which other
 * tools print and compare differently, so names are encoded here and handed to pkijs as parsed.
 *
 * @module
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID_AT_ORGANIZATION } from './oids.js';

/** One attribute of a name: type OID and string value. */
export interface NameAttribute {
  readonly type: string;
  readonly value: string;
}

/**
 * Builds a Name (RFC 5280 §4.1.2.4) with one attribute per RDN, in order. Organization values use
 * PrintableString when they fit it (as Go does for istio-agent's `O=`), other values UTF8String.
 */
export function buildName(attributes: readonly NameAttribute[]): pkijs.RelativeDistinguishedNames {
  const der = new asn1js.Sequence({
    value: attributes.map(
      ({ type, value }) =>
        new asn1js.Set({
          value: [
            new asn1js.Sequence({
              value: [
                new asn1js.ObjectIdentifier({ value: type }),
                type === OID_AT_ORGANIZATION && /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
                  ? new asn1js.PrintableString({ value })
                  : new asn1js.Utf8String({ value }),
              ],
            }),
          ],
        }),
    ),
  }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}
