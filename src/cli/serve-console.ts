/**
 * Wiring of `meshca serve`: the web console at `/ui/` on the operations port, and the facts of
 * this replica (its CA and its policies in force) that the `overview` view adds to what the
 * ledger holds. The console reads the inventory API only, so it is served with it: wherever the
 * ledger is on.
 *
 * @module
 */
import type { CertificateAuthority } from '../ca/index.js';
import { consoleRoutes } from '../console/index.js';
import type { CertificateFacts, PolicyFacts, ServingFacts } from '../inventory/index.js';
import type { OpsRoute } from '../server/index.js';

/** What a CA certificate shows in the overview (Node's X509Certificate, SHA-256 of the DER). */
interface CaCertificate {
  readonly sha256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly x509: { readonly subject: string };
}

function certificateFacts(certificate: CaCertificate): CertificateFacts {
  return {
    fingerprint: certificate.sha256,
    // Node prints one RDN per line: `O=meshca\nCN=…`.
    subject: certificate.x509.subject.split('\n').join(', '),
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
  };
}

/** This replica's CA and policies, read at each request. */
export function servingFacts(
  authority: CertificateAuthority,
  policies: () => readonly PolicyFacts[],
): ServingFacts {
  return {
    authority: () => {
      if (!authority.ready) return null;
      const { material } = authority.current();
      return {
        intermediate: certificateFacts(material.signingCert),
        roots: material.trustBundle.roots.map(certificateFacts),
      };
    },
    policies,
  };
}

/** The console's routes (`/ui`, `/ui/`). */
export function consoleWiring(): readonly OpsRoute[] {
  return consoleRoutes();
}
