/**
 * The facts classification needs about certificates, computed once per certificate: its
 * description and whether it is anchored to an approved root. Between scans only each
 * certificate's fingerprint and verdict are kept (a bounded LRU), never the objects they came
 * from, and the cache is dropped whenever the approved anchors change.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';
import {
  NoIssuerFoundError,
  describe,
  describeCertificate,
  findCertificationPath,
  type CertificateDescription,
  type ParsedCertificate,
} from '../ca/index.js';
import { errorMessage } from '../errors.js';

/** Whether a certificate chains to an approved anchor. */
export type AnchorVerdict =
  | { readonly anchored: true; readonly anchor: string }
  | { readonly anchored: false; readonly reason: string };

interface CachedVerdict {
  readonly description: CertificateDescription;
  /** Only positive verdicts are cached: a negative one depends on the intermediates at hand. */
  anchor?: string;
}

/** Fingerprint → verdict, shared by the scans of one process. */
export class VerdictCache {
  readonly #entries: LRUCache<string, CachedVerdict>;
  #anchorKey = '';

  /** @param maxEntries Certificates remembered (a few hundred bytes each). */
  constructor(maxEntries: number) {
    if (!(maxEntries >= 1)) throw new TypeError('VerdictCache needs maxEntries >= 1');
    this.#entries = new LRUCache({ max: maxEntries });
  }

  /** Forgets every verdict when the anchor set differs from the last one seen. */
  useAnchors(anchors: readonly ParsedCertificate[]): void {
    const key = anchors
      .map((anchor) => anchor.sha256)
      .sort()
      .join(',');
    if (key !== this.#anchorKey) {
      this.#entries.clear();
      this.#anchorKey = key;
    }
  }

  /** @internal */
  entry(cert: ParsedCertificate): CachedVerdict {
    let entry = this.#entries.get(cert.sha256);
    if (entry === undefined) {
      entry = { description: describeCertificate(cert) };
      this.#entries.set(cert.sha256, entry);
    }
    return entry;
  }

  /** Certificates remembered. */
  get size(): number {
    return this.#entries.size;
  }
}

/** What a scan judges against. */
export interface JudgeOptions {
  /** The approved anchors: meshca's roots, `--approved-roots` bundles. */
  readonly anchors: readonly ParsedCertificate[];
  readonly now: Date;
  /** `expiring-soon` below this much remaining validity. */
  readonly expiringSoonMs: number;
  readonly cache: VerdictCache;
}

/** Answers classification's questions about certificates for one scan. */
export class Judge {
  readonly anchors: readonly ParsedCertificate[];
  readonly now: Date;
  readonly expiringSoonMs: number;
  readonly #anchorFingerprints: ReadonlySet<string>;
  readonly #cache: VerdictCache;

  constructor(options: JudgeOptions) {
    this.anchors = options.anchors;
    this.now = options.now;
    this.expiringSoonMs = options.expiringSoonMs;
    this.#anchorFingerprints = new Set(options.anchors.map((anchor) => anchor.sha256));
    this.#cache = options.cache;
    this.#cache.useAnchors(options.anchors);
  }

  /** True for a certificate that is itself an approved anchor. */
  isApprovedAnchor(cert: ParsedCertificate): boolean {
    return this.#anchorFingerprints.has(cert.sha256);
  }

  describe(cert: ParsedCertificate): CertificateDescription {
    return this.#cache.entry(cert).description;
  }

  /**
   * Whether `cert` chains to an approved anchor through certificates of `pool` (names,
   * signatures, CA flags and path lengths; not validity periods, reported separately).
   */
  anchoring(cert: ParsedCertificate, pool: readonly ParsedCertificate[]): AnchorVerdict {
    const entry = this.#cache.entry(cert);
    if (entry.anchor !== undefined) return { anchored: true, anchor: entry.anchor };
    if (this.anchors.length === 0) {
      return { anchored: false, reason: 'no approved anchors are configured' };
    }
    try {
      const path = findCertificationPath(cert, pool, this.anchors);
      entry.anchor = describe(path.anchor);
      return { anchored: true, anchor: entry.anchor };
    } catch (error) {
      if (error instanceof NoIssuerFoundError) {
        const stop = error.certificate;
        const issuer = ((stop.x509.issuer as string | undefined) ?? '').replaceAll('\n', ', ');
        const where =
          stop === cert ? 'its issuer' : `the chain stops at "${describe(stop)}", whose issuer`;
        return {
          anchored: false,
          reason: `${where} "${issuer}" is neither an approved anchor nor in the same object`,
        };
      }
      return { anchored: false, reason: errorMessage(error) };
    }
  }
}
