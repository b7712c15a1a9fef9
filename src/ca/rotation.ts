/**
 * Guard rails for replacing CA material while workloads run, enforcing the staged root rotation
 * of ISTIO-CONTRACT.md §5.2 and checklist 33:
 *
 *   1. publish old + new roots (`root-cert.pem` = both) while still signing with the old
 *      intermediate;
 *   2. wait one leaf lifetime, so that every workload has renewed and trusts both roots;
 *   3. sign with the new intermediate (chained to the new root);
 *   4. one leaf lifetime later, drop the old root.
 *
 * A change that skips a stage would break mTLS between workloads, or between proxies and meshca,
 * so it is refused (and the old material kept) unless the checks are switched off for an
 * emergency: signing under a root workloads do not trust yet (or trust for less than a leaf
 * lifetime), dropping the root the current intermediate chains to, or dropping a root that
 * certificates issued less than a leaf lifetime ago chain to. What is known about each root is
 * kept in memory; after a restart, the roots meshca starts with count as published long enough
 * and as possibly anchoring certificates for one more leaf lifetime (the safe assumptions).
 *
 * @module
 */
import type { CaMaterial } from './material.js';
import { describe } from './chain.js';

/** What this process saw of each root, by fingerprint. */
export class RotationHistory {
  readonly #maxLeafTtlMs: number;
  readonly #publishedSince = new Map<string, Date>();
  readonly #usedUntil = new Map<string, Date>();

  /** @param maxLeafTtlMs The longest workload certificate lifetime. */
  constructor(maxLeafTtlMs: number) {
    this.#maxLeafTtlMs = maxLeafTtlMs;
  }

  /** The longest workload certificate lifetime. */
  get maxLeafTtlMs(): number {
    return this.#maxLeafTtlMs;
  }

  /**
   * Records that `material` is now in use. `initial` marks the material meshca started with, whose
   * roots are taken as published long enough ago.
   */
  installed(material: CaMaterial, at: Date, initial: boolean): void {
    const since = initial ? new Date(at.getTime() - this.#maxLeafTtlMs) : at;
    for (const fingerprint of material.trustBundle.fingerprints) {
      if (!this.#publishedSince.has(fingerprint)) this.#publishedSince.set(fingerprint, since);
      // What an earlier process signed is unknown: at start, every root may still anchor valid
      // certificates for one leaf lifetime.
      if (initial) this.used(fingerprint, new Date(at.getTime() + this.#maxLeafTtlMs));
    }
    for (const fingerprint of this.#publishedSince.keys()) {
      if (!material.trustBundle.fingerprints.includes(fingerprint))
        this.#publishedSince.delete(fingerprint);
    }
  }

  /** Records that leaves chaining to `fingerprint` may be valid until `until`. */
  used(fingerprint: string, until: Date): void {
    const known = this.#usedUntil.get(fingerprint);
    if (known === undefined || known < until) this.#usedUntil.set(fingerprint, until);
  }

  /** Since when `fingerprint` has been in the published bundle, if it is. */
  publishedSince(fingerprint: string): Date | undefined {
    return this.#publishedSince.get(fingerprint);
  }

  /** Until when certificates chaining to `fingerprint` may be valid, if known. */
  usedUntil(fingerprint: string): Date | undefined {
    return this.#usedUntil.get(fingerprint);
  }
}

/**
 * Why `next` may not replace `current` now, or undefined when it may.
 */
export function rotationRefusal(
  current: CaMaterial,
  next: CaMaterial,
  history: RotationHistory,
  now: Date,
): string | undefined {
  const nextRoots = new Set(next.trustBundle.fingerprints);
  if (next.anchor.sha256 !== current.anchor.sha256) {
    const since = history.publishedSince(next.anchor.sha256);
    if (since === undefined) {
      return (
        `the new intermediate chains to root "${describe(next.anchor)}", which is not in the trust ` +
        'bundle workloads have now; first add it to root-cert.pem (keeping the old root and the ' +
        'old intermediate), wait one certificate lifetime, then switch the intermediate'
      );
    }
    const ready = new Date(since.getTime() + history.maxLeafTtlMs);
    if (ready > now) {
      return (
        `the new intermediate chains to root "${describe(next.anchor)}", published only since ` +
        `${since.toISOString()}; workloads renewing until ${ready.toISOString()} may not trust it ` +
        'yet, switch the intermediate after that'
      );
    }
  }
  if (!nextRoots.has(current.anchor.sha256)) {
    return (
      `the new trust bundle drops root "${describe(current.anchor)}", which the current ` +
      'intermediate chains to; switch to the new intermediate first, and drop the old root one ' +
      'certificate lifetime later'
    );
  }
  for (const root of current.trustBundle.roots) {
    if (nextRoots.has(root.sha256)) continue;
    const until = history.usedUntil(root.sha256);
    if (until !== undefined && until > now) {
      return (
        `the new trust bundle drops root "${describe(root)}", but certificates issued under it ` +
        `are valid until ${until.toISOString()}; drop it after that`
      );
    }
  }
  return undefined;
}
