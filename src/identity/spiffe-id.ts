/**
 * Workload identities in Istio's SPIFFE form, `spiffe://<trust-domain>/ns/<namespace>/sa/<sa>`
 * (istio `pkg/spiffe/spiffe.go`; SPIFFE ID spec §2). Parsing is strict: exactly five path
 * segments, like istiod's `ParseIdentity`, plus the character rules of the SPIFFE spec.
 *
 * @module
 */
import { InvalidRequestError } from '../errors.js';

/** A workload identity issued by meshca. */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The canonical URI, exactly as it appears in the certificate's URI SAN. */
  readonly uri: string;
}

/** SPIFFE ID spec §2.1: lowercase letters, digits, dots, dashes and underscores. */
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
/** Namespaces (and Istio revisions) are DNS-1123 labels. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** ServiceAccount, Secret and ConfigMap names are DNS-1123 subdomains. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** True when `value` is a DNS-1123 label (a Kubernetes namespace name). */
export function isDnsLabel(value: string): boolean {
  return DNS_LABEL.test(value);
}

/** True when `value` is a DNS-1123 subdomain (a Kubernetes object name). */
export function isDnsSubdomain(value: string): boolean {
  return DNS_SUBDOMAIN.test(value);
}

/** True when `value` is a valid SPIFFE trust domain name. */
export function isValidTrustDomain(value: string): boolean {
  return TRUST_DOMAIN.test(value) && !value.startsWith('.') && !value.endsWith('.');
}

/**
 * Istio rewrites `@` to `.` in the mesh trust domain before building identities
 * (`spiffe.MustGenSpiffeURI`); we do the same so that identities match istiod's byte for byte.
 */
export function sanitizeTrustDomain(value: string): string {
  return value.replaceAll('@', '.');
}

/**
 * Builds the identity of a Kubernetes service account.
 *
 * @throws {@link InvalidRequestError} `ERR_IDENTITY_INVALID` when a part is not a valid name.
 */
export function workloadSpiffeId(
  trustDomain: string,
  namespace: string,
  serviceAccount: string,
): SpiffeId {
  if (!isValidTrustDomain(trustDomain)) {
    throw new InvalidRequestError('ERR_IDENTITY_INVALID', 'trust domain is not a valid name');
  }
  if (!isDnsLabel(namespace)) {
    throw new InvalidRequestError('ERR_IDENTITY_INVALID', 'namespace is not a DNS-1123 label');
  }
  if (!isDnsSubdomain(serviceAccount)) {
    throw new InvalidRequestError(
      'ERR_IDENTITY_INVALID',
      'service account is not a DNS-1123 subdomain',
    );
  }
  return {
    trustDomain,
    namespace,
    serviceAccount,
    uri: `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`,
  };
}

/**
 * Parses `spiffe://<td>/ns/<ns>/sa/<sa>`. Anything else (other path shapes, query, fragment,
 * port, user info, upper-case trust domain) is refused.
 *
 * @throws {@link InvalidRequestError} `ERR_IDENTITY_INVALID`.
 */
export function parseWorkloadSpiffeId(uri: string): SpiffeId {
  const prefix = 'spiffe://';
  if (!uri.startsWith(prefix)) {
    throw new InvalidRequestError('ERR_IDENTITY_INVALID', 'identity is not a spiffe:// URI');
  }
  const parts = uri.slice(prefix.length).split('/');
  if (parts.length !== 5 || parts[1] !== 'ns' || parts[3] !== 'sa') {
    throw new InvalidRequestError(
      'ERR_IDENTITY_INVALID',
      'identity is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>',
    );
  }
  const [trustDomain, , namespace, , serviceAccount] = parts as [
    string,
    string,
    string,
    string,
    string,
  ];
  return workloadSpiffeId(trustDomain, namespace, serviceAccount);
}
