/**
 * The CSR gate: parse, check every rule, verify proof of possession, and bind the request to the
 * identity the caller may have. The cheap structural rules run first; the signature check (the
 * only costly step) runs last, off the event loop.
 *
 * @module
 */
import { InvalidRequestError, PermissionDeniedError, quoteInput } from '../errors.js';
import { OID_AT_COMMON_NAME, OID_AT_ORGANIZATION } from '../asn1/index.js';
import type { SpiffeId } from '../identity/index.js';
import { checkExtensions } from './extensions.js';
import {
  inspectKey,
  signatureDigest,
  verifyProofOfPossession,
  type CsrKey,
  type KeyPolicyOptions,
} from './key.js';
import { parseCsrPem, type ParsedCsr } from './parse.js';
import { ThreadPoolProofVerifier, type ProofVerifier } from './proof.js';

/** A SPIFFE ID is quoted whole up to this length (Istio's are well under 100 characters). */
const MAX_QUOTED_URI_CHARS = 100;

/** A CSR that may be signed for {@link ValidatedCsr.identity}. */
export interface ValidatedCsr {
  readonly identity: SpiffeId;
  /** SubjectPublicKeyInfo DER to place in the certificate. */
  readonly spkiDer: Buffer;
  readonly key: Omit<CsrKey, 'jwk'>;
  /** SHA-256 of the CSR DER, for logs and the ledger. */
  readonly sha256: string;
}

/** Validates workload CSRs against the rules of ISTIO-CONTRACT.md §11 C. */
export class CsrValidator {
  readonly #keyPolicy: KeyPolicyOptions;
  readonly #proofs: ProofVerifier;

  /**
   * @param proofs Checks proofs of possession; by default on libuv's thread pool (`meshca serve`
   * passes its worker threads).
   */
  constructor(keyPolicy: KeyPolicyOptions, proofs: ProofVerifier = new ThreadPoolProofVerifier()) {
    this.#keyPolicy = keyPolicy;
    this.#proofs = proofs;
  }

  /**
   * @param pem `IstioCertificateRequest.csr`.
   * @param identity The one identity the caller may receive.
   * @throws {@link InvalidRequestError} for a malformed or non-conforming CSR.
   * @throws {@link PermissionDeniedError} `ERR_CSR_IDENTITY_NOT_OWNED` when the CSR asks for an
   * identity other than `identity`.
   */
  async validate(pem: string, identity: SpiffeId): Promise<ValidatedCsr> {
    const csr = parseCsrPem(pem);
    checkStructure(csr);
    const [uri] = checkExtensions(csr.extensions);
    const key = inspectKey(csr.spkiDer, this.#keyPolicy);
    const digest = signatureDigest(csr.signatureAlgorithm, key);
    if (uri !== identity.uri) {
      throw new PermissionDeniedError(
        'ERR_CSR_IDENTITY_NOT_OWNED',
        `CSR asks for ${quoteInput(uri ?? '', MAX_QUOTED_URI_CHARS)} but the caller may only receive ${identity.uri}`,
      );
    }
    await verifyProofOfPossession(csr.infoDer, csr.signature, digest, key, this.#proofs);
    return {
      identity,
      spkiDer: csr.spkiDer,
      key: { algorithm: key.algorithm, bits: key.bits, curve: key.curve },
      sha256: csr.sha256,
    };
  }
}

/** Version, subject and attribute rules (RFC 2986 §4; Istio's CSR shapes in the contract §2.5, §3). */
function checkStructure(csr: ParsedCsr): void {
  if (csr.version !== 0) {
    throw new InvalidRequestError(
      'ERR_CSR_VERSION',
      `CSR version is ${csr.version}, expected 0 (v1)`,
    );
  }
  for (const attribute of csr.subject) {
    if (attribute.type === OID_AT_COMMON_NAME) {
      throw new InvalidRequestError(
        'ERR_CSR_SUBJECT_CN',
        'CSR subject has a common name; workload identities travel only in the URI SAN',
      );
    }
    // istio-agent sends the subject "O=" (an empty organization); ztunnel sends an empty subject.
    // Both are accepted; the issued certificate's subject is always empty.
    if (attribute.type !== OID_AT_ORGANIZATION) {
      throw new InvalidRequestError(
        'ERR_CSR_SUBJECT_ATTRIBUTE',
        `CSR subject has attribute ${quoteInput(attribute.type)}; only an empty subject or O= is allowed`,
      );
    }
  }
  const [attribute] = csr.otherAttributes;
  if (attribute !== undefined) {
    throw new InvalidRequestError(
      'ERR_CSR_ATTRIBUTE',
      `CSR carries attribute ${quoteInput(attribute)}; only extensionRequest is allowed`,
    );
  }
}
