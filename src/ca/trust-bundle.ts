/**
 * The trust bundle: every root a workload must trust, as one PEM text. Its bytes are the last
 * element of every CreateCertificate response and the `root-cert.pem` key of the
 * `istio-ca-root-cert` ConfigMap, so they must be identical everywhere and stable across calls and
 * replicas: istio-agent pushes a new ROOTCA to Envoy whenever the last element's bytes change
 * (ISTIO-CONTRACT.md §2.7, checklist 27, 32).
 *
 * @module
 */
import type { ParsedCertificate } from '../asn1/index.js';

/** An immutable, normalized set of trust anchors. */
export interface TrustBundle {
  /** Roots in canonical order: oldest first (by notBefore), ties broken by fingerprint. */
  readonly roots: readonly ParsedCertificate[];
  /** The canonical PEM: one normalized block per root, each ending in a newline. */
  readonly pem: string;
  /** SHA-256 fingerprints in canonical order. */
  readonly fingerprints: readonly string[];
}

/**
 * Normalizes roots into a bundle: duplicates (same DER) removed, canonical order, canonical PEM.
 * The order does not depend on the input order, so two replicas fed the same roots in a different
 * order (or an operator who prepends instead of appends during rotation) publish the same bytes.
 *
 * @throws `TypeError` when `roots` is empty.
 */
export function createTrustBundle(roots: readonly ParsedCertificate[]): TrustBundle {
  if (roots.length === 0) throw new TypeError('a trust bundle needs at least one root');
  const unique = new Map<string, ParsedCertificate>();
  for (const root of roots) unique.set(root.sha256, root);
  const ordered = [...unique.values()].sort(
    (a, b) =>
      a.notBefore.getTime() - b.notBefore.getTime() ||
      (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0),
  );
  return {
    roots: ordered,
    pem: ordered.map((root) => root.pem).join(''),
    fingerprints: ordered.map((root) => root.sha256),
  };
}

/** True when both bundles hold exactly the same roots. */
export function sameTrustBundle(a: TrustBundle, b: TrustBundle): boolean {
  return a.pem === b.pem;
}
