/**
 * Guard rails for replacing CA material while workloads run, enforcing the staged root rotation
 * of ISTIO-CONTRACT.md §5.2 and checklist 33:
 *
 *   1. publish old + new roots (`root-cert.pem` = both) while still signing with the old
 *      intermediate;
 *   2. wait one leaf lifetime (every workload now trusts both roots);
 *   3. sign with the new intermediate (chained to the new root);
 *   4. drop the old root once no valid leaf chains to it.
 *
 * A change that skips a stage would break mTLS between workloads, or between proxies and meshca,
 * so it is refused (and the old material kept) unless the checks are switched off for an
 * emergency: signing under a root workloads do not trust yet, dropping the root the current
 * intermediate chains to, or dropping a root that certificates issued recently still chain to.
 *
 * @module
 */
import type { CaMaterial } from './material.js';
import { describe } from './chain.js';

/** When each root last anchored a certificate this process issued, as a fingerprint → time. */
export class RootUsage {
  readonly #lastUsedUntil = new Map<string, Date>();

  /** Records that certificates chaining to `fingerprint` stay valid until `until`. */
  record(fingerprint: string, until: Date): void {
    const known = this.#lastUsedUntil.get(fingerprint);
    if (known === undefined || known < until) this.#lastUsedUntil.set(fingerprint, until);
  }

  /** Until when certificates chaining to `fingerprint` may be valid, if known. */
  usedUntil(fingerprint: string): Date | undefined {
    return this.#lastUsedUntil.get(fingerprint);
  }
}

/**
 * Why `next` may not replace `current` now, or undefined when it may.
 *
 * @param usage Roots recent leaves chain to (including `current`'s, until its leaves expire).
 */
export function rotationRefusal(
  current: CaMaterial,
  next: CaMaterial,
  usage: RootUsage,
  now: Date,
): string | undefined {
  const published = new Set(current.trustBundle.fingerprints);
  const nextRoots = new Set(next.trustBundle.fingerprints);
  if (next.anchor.sha256 !== current.anchor.sha256 && !published.has(next.anchor.sha256)) {
    return (
      `the new intermediate chains to root "${describe(next.anchor)}", which is not in the trust ` +
      'bundle workloads have now; first add it to root-cert.pem (keeping the old root and the ' +
      'old intermediate), wait one certificate lifetime, then switch the intermediate'
    );
  }
  if (!nextRoots.has(current.anchor.sha256)) {
    return (
      `the new trust bundle drops root "${describe(current.anchor)}", which the current ` +
      'intermediate chains to; switch to the new intermediate first, and drop the old root one ' +
      'certificate lifetime later'
    );
  }
  for (const fingerprint of published) {
    if (nextRoots.has(fingerprint)) continue;
    const until = usage.usedUntil(fingerprint);
    if (until !== undefined && until > now) {
      const root = current.trustBundle.roots.find((candidate) => candidate.sha256 === fingerprint);
      return (
        `the new trust bundle drops root "${root ? describe(root) : fingerprint}", but certificates ` +
        `issued under it are valid until ${until.toISOString()}; drop it after that`
      );
    }
  }
  return undefined;
}
