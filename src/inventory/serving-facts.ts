/**
 * What the answering replica has in force, for the `overview` view: its CA (the intermediate it
 * signs with and the roots of its trust bundle, with their validity) and its issuance policies
 * (name, SHA-256 of the exact bytes, signature status). These are facts of a running `meshca
 * serve`, not of the database: the composition root supplies them to the HTTP API, and `meshca
 * inventory overview`, which reads only the database, shows them as null.
 *
 * Plain data, so that this folder depends on neither `ca/` nor `policy/`.
 *
 * @module
 */

/** A CA certificate, as the overview shows it. Times are ISO 8601. */
export interface CertificateFacts {
  /** Lower-case hex SHA-256 of the DER: the `issuerFingerprint` of the ledger's views. */
  readonly fingerprint: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

/** The CA material in force. */
export interface AuthorityFacts {
  /** The certificate that signs workload certificates. */
  readonly intermediate: CertificateFacts;
  /** The roots of the trust bundle, oldest first. */
  readonly roots: readonly CertificateFacts[];
}

/**
 * How a policy's signature was checked: `verified` (by one of `policySigningKeys`, named in
 * `signedBy`), or `not-required` (no signing keys are configured, or the local layer, which is
 * never signed).
 */
export type PolicySignatureStatus = 'verified' | 'not-required';

/** One policy layer in force. */
export interface PolicyFacts {
  readonly layer: 'central' | 'local';
  readonly name: string;
  readonly sha256: string;
  /** Where it was loaded from (a file, a ConfigMap). */
  readonly origin: string;
  readonly signature: PolicySignatureStatus;
  /** The key id of the signing key, when verified. */
  readonly signedBy: string | null;
}

/** The replica's facts, read at each request. */
export interface ServingFacts {
  /** The CA in force; null while none is loaded. */
  authority(): AuthorityFacts | null;
  /** The policy layers in force (none: meshca's own TTL limits decide alone). */
  policies(): readonly PolicyFacts[];
}
