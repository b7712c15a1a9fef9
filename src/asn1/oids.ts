/**
 * Every object identifier and GeneralName tag meshca reads or writes, named once
 * (STYLE.md: no bare OIDs or tag numbers elsewhere).
 *
 * @module
 */

// RFC 5280 §4.2.1: certificate extensions.
export const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
export const OID_KEY_USAGE = '2.5.29.15';
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_NAME_CONSTRAINTS = '2.5.29.30';
export const OID_CRL_DISTRIBUTION_POINTS = '2.5.29.31';
export const OID_CERTIFICATE_POLICIES = '2.5.29.32';
export const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
/** RFC 5280 §5.2.3 cRLNumber and §5.3.1 reasonCode. */
export const OID_CRL_NUMBER = '2.5.29.20';
export const OID_CRL_REASON = '2.5.29.21';
export const OID_EXT_KEY_USAGE = '2.5.29.37';

// RFC 5280 §4.2.1.12: key purposes.
export const OID_KP_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const OID_KP_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

// RFC 2985 §5.4.2: the PKCS#9 attribute that carries requested extensions in a CSR.
export const OID_PKCS9_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

// X.520 attribute types that appear in subjects (RFC 5280 §4.1.2.4).
export const OID_AT_COMMON_NAME = '2.5.4.3';
export const OID_AT_ORGANIZATION = '2.5.4.10';

// RFC 3279 / RFC 5480: public key algorithms and named curves.
export const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_CURVE_P256 = '1.2.840.10045.3.1.7';
export const OID_CURVE_P384 = '1.3.132.0.34';
export const OID_DSA = '1.2.840.10040.4.1';
export const OID_ED25519 = '1.3.101.112';
export const OID_ED448 = '1.3.101.113';

// RFC 4055 / RFC 5758: signature algorithms.
export const OID_SHA256_WITH_RSA = '1.2.840.113549.1.1.11';
export const OID_SHA384_WITH_RSA = '1.2.840.113549.1.1.12';
export const OID_SHA512_WITH_RSA = '1.2.840.113549.1.1.13';
export const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
export const OID_ECDSA_WITH_SHA384 = '1.2.840.10045.4.3.3';
export const OID_ECDSA_WITH_SHA512 = '1.2.840.10045.4.3.4';

// Signature algorithms meshca never writes but must recognise in certificates it finds (rogue-CA
// discovery): the broken hashes of RFC 3279 §2.2 and RFC 8017 Appendix A.2.4, the SHA-224 ones of
// RFC 4055 / RFC 5758, RSASSA-PSS (RFC 4055 §3.1, hash in its parameters) and EdDSA (RFC 8410 §3).
export const OID_MD2_WITH_RSA = '1.2.840.113549.1.1.2';
export const OID_MD4_WITH_RSA = '1.2.840.113549.1.1.3';
export const OID_MD5_WITH_RSA = '1.2.840.113549.1.1.4';
export const OID_SHA1_WITH_RSA = '1.2.840.113549.1.1.5';
export const OID_RSASSA_PSS = '1.2.840.113549.1.1.10';
export const OID_SHA224_WITH_RSA = '1.2.840.113549.1.1.14';
export const OID_ECDSA_WITH_SHA1 = '1.2.840.10045.4.1';
export const OID_ECDSA_WITH_SHA224 = '1.2.840.10045.4.3.1';
export const OID_DSA_WITH_SHA1 = '1.2.840.10040.4.3';
export const OID_DSA_WITH_SHA256 = '2.16.840.1.101.3.4.3.2';

// Hash algorithms (RFC 3279 §2.1, RFC 5754 §2), as they appear in RSASSA-PSS parameters.
export const OID_SHA1 = '1.3.14.3.2.26';
export const OID_SHA224 = '2.16.840.1.101.3.4.2.4';
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
export const OID_SHA384 = '2.16.840.1.101.3.4.2.2';
export const OID_SHA512 = '2.16.840.1.101.3.4.2.3';

/** RFC 5280 §4.2.1.6: the context-specific tag of each GeneralName choice. */
export const GENERAL_NAME_OTHER_NAME = 0;
export const GENERAL_NAME_EMAIL = 1;
export const GENERAL_NAME_DNS = 2;
export const GENERAL_NAME_X400 = 3;
export const GENERAL_NAME_DIRECTORY = 4;
export const GENERAL_NAME_EDI_PARTY = 5;
export const GENERAL_NAME_URI = 6;
export const GENERAL_NAME_IP = 7;
export const GENERAL_NAME_REGISTERED_ID = 8;

/** Human names for GeneralName tags, for error messages. */
export const GENERAL_NAME_LABELS: Readonly<Record<number, string>> = {
  [GENERAL_NAME_OTHER_NAME]: 'otherName',
  [GENERAL_NAME_EMAIL]: 'email (rfc822Name)',
  [GENERAL_NAME_DNS]: 'DNS',
  [GENERAL_NAME_X400]: 'x400Address',
  [GENERAL_NAME_DIRECTORY]: 'directoryName',
  [GENERAL_NAME_EDI_PARTY]: 'ediPartyName',
  [GENERAL_NAME_URI]: 'URI',
  [GENERAL_NAME_IP]: 'IP',
  [GENERAL_NAME_REGISTERED_ID]: 'registeredID',
};

/** Human names for extensions, for error messages. */
export const EXTENSION_LABELS: Readonly<Record<string, string>> = {
  [OID_SUBJECT_KEY_IDENTIFIER]: 'subjectKeyIdentifier',
  [OID_KEY_USAGE]: 'keyUsage',
  [OID_SUBJECT_ALT_NAME]: 'subjectAltName',
  [OID_BASIC_CONSTRAINTS]: 'basicConstraints',
  [OID_NAME_CONSTRAINTS]: 'nameConstraints',
  [OID_CRL_DISTRIBUTION_POINTS]: 'cRLDistributionPoints',
  [OID_CERTIFICATE_POLICIES]: 'certificatePolicies',
  [OID_AUTHORITY_KEY_IDENTIFIER]: 'authorityKeyIdentifier',
  [OID_EXT_KEY_USAGE]: 'extKeyUsage',
};

/** RFC 5280 §4.2.1.3: KeyUsage bit positions (bit 0 is the most significant bit). */
export const KEY_USAGE_DIGITAL_SIGNATURE = 0;
export const KEY_USAGE_KEY_ENCIPHERMENT = 2;
export const KEY_USAGE_KEY_CERT_SIGN = 5;
