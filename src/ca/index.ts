/**
 * The certificate authority: CA material in Istio's `cacerts` layout, certification paths, the
 * trust bundle, the leaf template and in-process signing, and the development PKI.
 *
 * @module
 */
export type { CaMaterial, CaMaterialSource } from './material.js';
export {
  CACERTS_FILES,
  CaMaterialError,
  loadCaDirectory,
  loadCaMaterial,
  readCaDirectory,
} from './material.js';
export type { ParsedCertificate } from '../asn1/index.js';
export type { CertificationPath } from './chain.js';
export {
  NoIssuerFoundError,
  buildCertificationPath,
  describe,
  findCertificationPath,
  issuedBy,
} from './chain.js';
export type {
  CertificateBlock,
  CertificateDescription,
  KeyDescription,
  PemInventory,
  SignatureHash,
} from './inspect.js';
export { describeCertificate, inventoryPem, parseCertificateBlock } from './inspect.js';
export type { TrustBundle } from './trust-bundle.js';
export { createTrustBundle, sameTrustBundle } from './trust-bundle.js';
export type { LeafFields, SubjectAltName } from './leaf-template.js';
export type { CrlContent, CrlEntry, CrlReason } from './crl.js';
export { CRL_REASONS, crlPem, crlToBeSigned, isCrlReason, signCrl } from './crl.js';
export type { AuthorityListener, IssuedCertificate, SigningOptions } from './authority.js';
export { CertificateAuthority, SigningAuthority } from './authority.js';
export type { CaCertificateSpec, CaKeyPair, CaKeyType } from './pki-builder.js';
export { createCaCertificate, generateCaKey } from './pki-builder.js';
export type { CaDirectoryFiles, DevPkiLayout, DevPkiOutcome } from './dev-pki.js';
export { devPkiLayout, ensureDevPki, writeCaDirectory } from './dev-pki.js';
export type { ChainExpectations, CheckedChain } from './response-check.js';
export { checkCertificateChain } from './response-check.js';
export type { CaReloaderOptions } from './reload.js';
export { CaReloader } from './reload.js';
export type { DirectoryCaSourceOptions } from './directory-source.js';
export { DirectoryCaSource } from './directory-source.js';
export { RotationHistory, rotationRefusal } from './rotation.js';
export type { SecretCaSourceOptions } from './secret-source.js';
export { SecretCaSource, caSourceFromSecret } from './secret-source.js';
export type { ServerCertificateRequest } from './server-certificate.js';
export { issueServerCertificate, renewalTime } from './server-certificate.js';
export type { ValidityRequest, ValidityWindow } from './validity.js';
export { validityWindow } from './validity.js';
export type { SignedCertificate, Signer, SigningRequest } from './signer.js';
export { LocalIntermediateSigner } from './signer.js';
