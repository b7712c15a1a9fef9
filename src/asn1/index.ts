/**
 * ASN.1, DER and PEM helpers shared by the CA, CSR and trust code: named OIDs, the small DER
 * writer of the issuance hot path, PEM framing, certificate parsing and the pkijs crypto engine.
 *
 * @module
 */
export {
  EXTENSION_LABELS,
  GENERAL_NAME_DIRECTORY,
  GENERAL_NAME_DNS,
  GENERAL_NAME_EDI_PARTY,
  GENERAL_NAME_EMAIL,
  GENERAL_NAME_IP,
  GENERAL_NAME_LABELS,
  GENERAL_NAME_OTHER_NAME,
  GENERAL_NAME_REGISTERED_ID,
  GENERAL_NAME_URI,
  GENERAL_NAME_X400,
  KEY_USAGE_DIGITAL_SIGNATURE,
  KEY_USAGE_KEY_CERT_SIGN,
  KEY_USAGE_KEY_ENCIPHERMENT,
  OID_AT_COMMON_NAME,
  OID_AT_ORGANIZATION,
  OID_AUTHORITY_KEY_IDENTIFIER,
  OID_BASIC_CONSTRAINTS,
  OID_CERTIFICATE_POLICIES,
  OID_CRL_DISTRIBUTION_POINTS,
  OID_CRL_NUMBER,
  OID_CRL_REASON,
  OID_CURVE_P256,
  OID_CURVE_P384,
  OID_DSA,
  OID_DSA_WITH_SHA1,
  OID_DSA_WITH_SHA256,
  OID_ED25519,
  OID_ED448,
  OID_ECDSA_WITH_SHA1,
  OID_ECDSA_WITH_SHA224,
  OID_MD2_WITH_RSA,
  OID_MD4_WITH_RSA,
  OID_MD5_WITH_RSA,
  OID_RSASSA_PSS,
  OID_SHA1,
  OID_SHA1_WITH_RSA,
  OID_SHA224,
  OID_SHA224_WITH_RSA,
  OID_SHA256,
  OID_SHA384,
  OID_SHA512,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_WITH_SHA256,
  OID_ECDSA_WITH_SHA384,
  OID_ECDSA_WITH_SHA512,
  OID_EXT_KEY_USAGE,
  OID_KEY_USAGE,
  OID_KP_CLIENT_AUTH,
  OID_KP_SERVER_AUTH,
  OID_NAME_CONSTRAINTS,
  OID_PKCS9_EXTENSION_REQUEST,
  OID_RSA_ENCRYPTION,
  OID_SHA256_WITH_RSA,
  OID_SHA384_WITH_RSA,
  OID_SHA512_WITH_RSA,
  OID_SUBJECT_ALT_NAME,
  OID_SUBJECT_KEY_IDENTIFIER,
} from './oids.js';
export {
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
  TAG_UTC_TIME,
  contextConstructed,
  contextPrimitive,
  encodeLength,
  tlv,
  unsignedInteger,
  x509Time,
} from './der.js';
export type { PemBlock } from './pem.js';
export {
  PEM_CERTIFICATE,
  PEM_CRL,
  PEM_CERTIFICATE_REQUEST,
  PEM_CERTIFICATE_REQUEST_LEGACY,
  decodePem,
  encodePem,
} from './pem.js';
export type { ParsedCertificate } from './certificate.js';
export { parseCertificateDer, parseCertificatesPem } from './certificate.js';
export { readCertificateDer } from './certificate-reader.js';
export { createCryptoEngine } from './crypto-engine.js';
export type { NameAttribute } from './name.js';
export { buildName } from './name.js';
export type { DerElement } from './der-reader.js';
export { DerError, DerReader, decodeDirectoryString, decodeOid } from './der-reader.js';
