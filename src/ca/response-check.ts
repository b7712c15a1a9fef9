/**
 * Checks a CreateCertificate response the way Istio's clients will use it (ISTIO-CONTRACT.md
 * §2.7, §3, checklist 22-27): at least two elements, each ending in a newline and holding only
 * CERTIFICATE blocks; one certificate per element except the last (the trust bundle); a leaf
 * whose key is the requester's and whose first URI SAN is the expected SPIFFE ID; a path from the
 * leaf through the intermediates to a root of the last element, valid now, with serverAuth and
 * clientAuth. Used by `meshca request` and by the tests.
 *
 * @module
 */
import { OID_KP_CLIENT_AUTH, OID_KP_SERVER_AUTH, parseCertificatesPem } from '../asn1/index.js';
import type { ParsedCertificate } from '../asn1/index.js';
import { buildCertificationPath } from './chain.js';

/** What a response proved. */
export interface CheckedChain {
  readonly leaf: ParsedCertificate;
  readonly intermediates: readonly ParsedCertificate[];
  readonly roots: readonly ParsedCertificate[];
  readonly anchor: ParsedCertificate;
  readonly uri: string;
}

/** What the requester expects. */
export interface ChainExpectations {
  readonly uri: string;
  /** SubjectPublicKeyInfo DER of the requester's key. */
  readonly spkiDer: Buffer;
  readonly at: Date;
}

/**
 * @throws `Error` naming the first rule the response breaks.
 */
export function checkCertificateChain(
  certChain: readonly string[],
  expected: ChainExpectations,
): CheckedChain {
  if (certChain.length < 2) {
    throw new Error(`cert_chain has ${certChain.length} element(s); Istio needs at least 2`);
  }
  const parsed = certChain.map((element, index) => {
    if (!element.endsWith('\n'))
      throw new Error(`cert_chain[${index}] does not end with a newline`);
    return parseCertificatesPem(element, `cert_chain[${index}]`);
  });
  const roots = parsed[parsed.length - 1] ?? [];
  const singles = parsed.slice(0, -1).map((certs, index) => {
    const [cert, ...extra] = certs;
    if (cert === undefined || extra.length > 0) {
      throw new Error(`cert_chain[${index}] must hold exactly one certificate`);
    }
    return cert;
  });
  const [leaf, ...intermediates] = singles;
  if (leaf === undefined) throw new Error('cert_chain has no leaf');
  for (const intermediate of intermediates) {
    if (roots.some((root) => root.sha256 === intermediate.sha256)) {
      throw new Error('a root appears among the intermediates');
    }
  }

  const leafKey = leaf.x509.publicKey.export({ type: 'spki', format: 'der' });
  if (!leafKey.equals(expected.spkiDer)) {
    throw new Error("the leaf's public key is not the requester's");
  }
  if (leaf.isCa) throw new Error('the leaf is a CA certificate');
  const uri = firstUri(leaf.x509.subjectAltName);
  if (uri !== expected.uri) {
    throw new Error(`the leaf's first URI SAN is ${uri ?? 'missing'}, expected ${expected.uri}`);
  }
  // Node's typings say string[], but the property is undefined when the extension is absent.
  const purposes = (leaf.x509.keyUsage as string[] | undefined) ?? [];
  if (!purposes.includes(OID_KP_SERVER_AUTH) || !purposes.includes(OID_KP_CLIENT_AUTH)) {
    throw new Error('the leaf lacks serverAuth or clientAuth');
  }
  const path = buildCertificationPath(leaf, intermediates, roots, expected.at);
  if (path.path.length !== singles.length) {
    throw new Error('the intermediates do not form the path from the leaf to a root');
  }
  return { leaf, intermediates, roots, anchor: path.anchor, uri };
}

/** The first `URI:` entry of Node's subjectAltName text. */
function firstUri(subjectAltName: string | undefined): string | undefined {
  for (const entry of (subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('URI:')) return entry.slice(4);
  }
  return undefined;
}
