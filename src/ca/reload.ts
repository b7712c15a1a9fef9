/**
 * Keeping CA material current without a restart. A source (a `cacerts` directory, as a mounted
 * Secret updates it, or a Secret watched through the API) offers new PEM texts; the reloader
 * verifies them like at start-up, applies the rotation guard rails, and installs them — or
 * refuses them, logs why, counts `meshca_ca_reloads_total{result="rejected"}` and keeps serving
 * with the material it has (istiod restarts on a bad bundle; istio-csr logs and keeps the old
 * roots).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import type { ReadinessCheck } from '../runtime/index.js';
import type { CertificateAuthority } from './authority.js';
import {
  CaMaterialError,
  loadCaMaterial,
  type CaMaterial,
  type CaMaterialSource,
} from './material.js';
import { RotationHistory, rotationRefusal } from './rotation.js';

/** Options of {@link CaReloader}. */
export interface CaReloaderOptions {
  /** Apply the staged-rotation guard rails (switch off only in an emergency). */
  readonly rotationChecks: boolean;
  /** The longest workload certificate; how long a root stays needed after the last leaf under it. */
  readonly maxLeafTtlMs: number;
}

/** Verifies offered material and installs it. */
export class CaReloader {
  readonly #authority: CertificateAuthority;
  readonly #options: CaReloaderOptions;
  readonly #logger: Logger;
  readonly #metrics: CaMetrics;
  readonly #clock: Clock;
  readonly #history: RotationHistory;
  #lastOffered = '';
  #pending: { readonly source: CaMaterialSource; readonly origin: string } | undefined;
  /** Why the source could not be read at its last attempt, to count each failure once. */
  #lastUnreadable: string | undefined;

  constructor(
    authority: CertificateAuthority,
    options: CaReloaderOptions,
    deps: { readonly logger: Logger; readonly metrics: CaMetrics; readonly clock: Clock },
  ) {
    this.#authority = authority;
    this.#options = options;
    this.#logger = deps.logger.child({ component: 'ca-reload' });
    this.#metrics = deps.metrics;
    this.#clock = deps.clock;
    this.#history = new RotationHistory(options.maxLeafTtlMs);
  }

  /**
   * Offers material. The first offer must succeed (meshca cannot serve without a CA); later
   * offers that fail are refused and the current material kept.
   *
   * @returns whether the material was installed (false also when nothing changed).
   * @throws {@link CaMaterialError} only while no material is installed yet.
   */
  offer(source: CaMaterialSource, origin: string): boolean {
    // Read successfully: a later failure to read is news again.
    this.#lastUnreadable = undefined;
    const digest = fingerprint(source);
    // The same bytes again (a directory poll, a resync): nothing new, and what is pending stays.
    if (digest === this.#lastOffered) return false;
    this.#lastOffered = digest;
    this.#pending = undefined;
    return this.#consider(source, origin, false);
  }

  /**
   * Offers again the material last refused for now (rotation timing, not yet valid), if any. A
   * refusal again is logged at debug level and not counted: the first refusal said it all, with
   * the time from which the material will be accepted.
   */
  retryPending(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    this.#consider(pending.source, pending.origin, true);
  }

  #consider(source: CaMaterialSource, origin: string, retry: boolean): boolean {
    const now = this.#clock.now();
    const refused = (fields: Record<string, unknown>, message: string): void => {
      if (retry) {
        this.#logger.debug({ origin, ...fields }, `${message} (still)`);
        return;
      }
      this.#metrics.caReload('rejected');
      this.#logger.error({ origin, ...fields }, message);
    };
    let next: CaMaterial;
    try {
      next = loadCaMaterial(source, now);
    } catch (error) {
      if (!this.#authority.ready) {
        this.#metrics.caReload('rejected');
        throw error;
      }
      refused(
        { err: errorMessage(error) },
        'new CA material refused; keeping the current material',
      );
      if (error instanceof CaMaterialError && error.retryLater) {
        // Not valid yet (clock skew, or issued moments ago): retryPending() offers it again.
        this.#pending = { source, origin };
      }
      return false;
    }
    const initial = !this.#authority.ready;
    if (!initial && this.#options.rotationChecks) {
      const refusal = rotationRefusal(this.#authority.current().material, next, this.#history, now);
      if (refusal !== undefined) {
        refused(
          { reason: refusal },
          'new CA material refused by the rotation checks; keeping the current material',
        );
        // The refusal may only be a matter of time: retryPending() offers it again.
        this.#pending = { source, origin };
        return false;
      }
    }
    if (!initial) {
      const current = this.#authority.current().material;
      if (next.anchor.sha256 !== current.anchor.sha256) {
        // Leaves signed so far chain to the current anchor until they expire.
        const until = Math.min(
          now.getTime() + this.#options.maxLeafTtlMs,
          current.notAfter.getTime(),
        );
        this.#history.used(current.anchor.sha256, new Date(until));
      }
    }
    this.#authority.install(next);
    this.#history.installed(next, now, initial);
    this.#metrics.caReload('loaded');
    publishExpiry(this.#metrics, next);
    this.#logger.info(
      {
        origin,
        signing: next.signingCert.sha256,
        notAfter: next.notAfter.toISOString(),
        roots: next.trustBundle.fingerprints,
      },
      'CA material loaded',
    );
    return true;
  }

  /**
   * Records that the source could not even be read (a file missing or unreadable, a key file
   * other users can read): refused like invalid material — counted as a rejected reload and
   * logged — once per distinct reason while it lasts; the current material stays in use.
   */
  unreadable(origin: string, error: unknown): void {
    const reason = errorMessage(error);
    if (reason === this.#lastUnreadable) return;
    this.#lastUnreadable = reason;
    this.#metrics.caReload('rejected');
    this.#logger.error(
      { origin, err: reason },
      'new CA material refused: it cannot be read; keeping the current material',
    );
  }

  /**
   * `ca`: material is loaded and not expired; `roots`: a trust bundle is loaded. A replica that
   * cannot sign must leave the Service.
   */
  readiness(): readonly ReadinessCheck[] {
    const authority = this.#authority;
    return [
      {
        name: 'ca',
        check: () => {
          if (!authority.ready) return 'no CA material loaded';
          const { notAfter } = authority.current().material;
          return notAfter > this.#clock.now()
            ? undefined
            : `the CA expired at ${notAfter.toISOString()}`;
        },
      },
      {
        name: 'roots',
        check: () =>
          authority.ready && authority.current().material.trustBundle.roots.length > 0
            ? undefined
            : 'no trust bundle loaded',
      },
    ];
  }
}

/** The expiry of the intermediate and of the earliest root, for alerts. */
function publishExpiry(metrics: CaMetrics, material: CaMaterial): void {
  metrics.certificateExpiry('signing', material.signingCert.notAfter);
  const earliestRoot = material.trustBundle.roots.reduce((a, b) =>
    b.notAfter < a.notAfter ? b : a,
  );
  metrics.certificateExpiry('root', earliestRoot.notAfter);
}

/** Identifies a set of PEM texts, to skip re-verifying what did not change. */
function fingerprint(source: CaMaterialSource): string {
  const hash = createHash('sha256');
  for (const part of [
    source.caCertPem,
    source.caKeyPem,
    source.certChainPem ?? '',
    source.rootCertPem,
  ]) {
    hash.update(part).update('\0');
  }
  return hash.digest('hex');
}
