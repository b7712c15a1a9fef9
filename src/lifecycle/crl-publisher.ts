/**
 * The certificate revocation list (`revocation: true`): a part that reads, from the ledger, the
 * unexpired retired and revoked serials of the current intermediate, and has the intermediate
 * sign a CRL of them (RFC 5280 §5, `ca/crl.ts`). It re-signs
 * - when the list changes: a retirement or revocation of any replica or of `meshca revoke` (the
 *   ledger is read every `checkIntervalMs`, and at once when this replica retires a pod), or an
 *   entry whose certificate has expired (it leaves the list);
 * - when the intermediate changes (the old one's CRL no longer covers what is signed);
 * - once half of `validityMs` has passed, long before nextUpdate.
 *
 * The CRL number (RFC 5280 §5.2.3: monotonically increasing per issuer) is the signing time in
 * nanoseconds — the time in milliseconds, then a random sub-millisecond part — and always above
 * the last one this process signed, as Boulder (Let's Encrypt) numbers its CRLs: it increases
 * across restarts and across replicas without any coordination, as long as their clocks agree
 * (NTP), and two replicas practically never sign the same number.
 *
 * When the ledger cannot be read, the last list is re-signed as it stands (minus expired
 * entries) before nextUpdate, so that a database outage never lets a published CRL expire.
 *
 * @module
 */
import { randomInt } from 'node:crypto';
import {
  crlPem,
  isCrlReason,
  signCrl,
  type CertificateAuthority,
  type CrlEntry,
} from '../ca/index.js';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import type { InventoryQuery } from '../ledger/index.js';
import type { Logger } from '../logger.js';
import type { LedgerMetrics } from '../metrics/index.js';
import { BackgroundLoops, type Part, type ReadinessCheck } from '../runtime/index.js';
import { Wakeup } from './wakeup.js';

/** Options of {@link CrlPublisher}. */
export interface CrlPublisherOptions {
  /** nextUpdate − thisUpdate, ms; re-signed once half of it has passed. */
  readonly validityMs: number;
  /** How often the ledger is read for changes, ms. */
  readonly checkIntervalMs: number;
  /**
   * thisUpdate is set this far in the past, for relying parties whose clocks lag (but never
   * before the newest revocation it lists), ms.
   */
  readonly backdateMs: number;
}

/** Collaborators of {@link CrlPublisher}. */
export interface CrlPublisherDeps {
  readonly authority: CertificateAuthority;
  readonly ledger: Pick<InventoryQuery, 'revocations'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: LedgerMetrics;
}

/** A signed CRL. */
export interface PublishedCrl {
  readonly der: Buffer;
  readonly pem: string;
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  /** SHA-256 of the intermediate that signed it. */
  readonly issuerFingerprint: string;
  readonly entries: readonly CrlEntry[];
}

/** Receives every newly signed CRL. */
export type CrlListener = (crl: PublishedCrl) => void;

/** Serials read per query. */
const PAGE = 1000;
/** A ConfigMap holds at most 1 MiB; warn well before a CRL cannot be written into one. */
const CONFIGMAP_WARNING_BYTES = 900 * 1024;

/** Signs and re-signs the CRL; see the module documentation. */
export class CrlPublisher implements Part {
  readonly name = 'crl';
  readonly #options: CrlPublisherOptions;
  readonly #deps: CrlPublisherDeps;
  readonly #loops: BackgroundLoops;
  readonly #listeners = new Set<CrlListener>();
  readonly #wakeup = new Wakeup();
  #current: PublishedCrl | undefined;
  /** The sorted entries' fingerprint of {@link #current}, to tell a change. */
  #currentKey = '';
  #lastNumber = 0n;
  /** notAfter (ms) of each serial of the last read, to drop expired entries without the ledger. */
  #expiries = new Map<string, number>();
  /** Why the ledger could not be read, while it cannot. */
  #readError: string | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: CrlPublisherOptions, deps: CrlPublisherDeps) {
    if (options.checkIntervalMs <= 0 || options.validityMs < 2 * options.checkIntervalMs) {
      throw new TypeError('the CRL validity must be at least twice its check interval');
    }
    this.#options = options;
    this.#deps = deps;
    this.#loops = new BackgroundLoops(deps.logger);
  }

  /** The CRL in force, once one is signed. */
  current(): PublishedCrl | undefined {
    return this.#current;
  }

  /** Calls `listener` with the current CRL (if any) and each new one; returns an unsubscriber. */
  onChange(listener: CrlListener): () => void {
    this.#listeners.add(listener);
    if (this.#current !== undefined) listener(this.#current);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the ledger now (e.g. after this replica retired or revoked something). */
  refresh(): void {
    this.#wakeup.wake();
  }

  /**
   * Signs the first CRL (when the ledger and the CA can be read now; else the loop keeps trying),
   * then keeps it current in the background.
   */
  async start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#unsubscribe = this.#deps.authority.onChange(() => {
      this.#wakeup.wake();
    });
    await this.checkNow();
    this.#loops.run('crl', async (loopSignal) => {
      while (!loopSignal.aborted) {
        await this.#wakeup.pause(this.#options.checkIntervalMs, loopSignal);
        // The pause may have ended because the signal aborted.
        if (loopSignal.aborted as boolean) return;
        await this.checkNow();
      }
    });
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#loops.close();
  }

  /** Informational: a replica without a current CRL still issues certificates. */
  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: 'crl',
        severity: 'informational',
        check: () => {
          if (this.#current === undefined) {
            return `no CRL signed yet${this.#readError === undefined ? '' : ` (ledger unreadable: ${this.#readError})`}`;
          }
          return this.#readError === undefined
            ? undefined
            : `ledger unreadable (${this.#readError}); the CRL of ${this.#current.thisUpdate.toISOString()} is kept and re-signed`;
        },
      },
    ];
  }

  /** One check: reads the ledger and signs a new CRL when due. Never throws. */
  async checkNow(): Promise<void> {
    try {
      await this.#check();
    } catch (error) {
      this.#deps.logger.error({ err: errorMessage(error) }, 'CRL signing failed; retried');
    }
  }

  async #check(): Promise<void> {
    const { authority } = this.#deps;
    if (!authority.ready) return;
    const material = authority.current().material;
    const issuer = material.signingCert;
    const now = this.#deps.clock.now();
    let entries: readonly CrlEntry[];
    try {
      entries = await this.#read(now, issuer.sha256);
      if (this.#readError !== undefined) {
        this.#deps.logger.info('the CRL reads the ledger again');
      }
      this.#readError = undefined;
    } catch (error) {
      const reason = errorMessage(error);
      if (this.#readError === undefined) {
        this.#deps.logger.warn({ err: reason }, 'the CRL cannot read the ledger; keeping the last');
      }
      this.#readError = reason;
      const last = this.#current;
      if (last?.issuerFingerprint !== issuer.sha256) return;
      // Entries whose certificate expired since leave; nothing can be added without the ledger.
      entries = last.entries.filter(
        (entry) => (this.#expiries.get(entry.serialHex) ?? Infinity) > now.getTime(),
      );
    }
    const key = entries.map((entry) => `${entry.serialHex}:${entry.reason}`).join(',');
    const previous = this.#current;
    const changed = previous === undefined || key !== this.#currentKey;
    const due =
      changed ||
      previous.issuerFingerprint !== issuer.sha256 ||
      now.getTime() >= previous.nextUpdate.getTime() - this.#options.validityMs / 2;
    if (!due) return;

    // Backdated for relying parties whose clocks lag, but never before its newest entry: a list
    // does not predate what it lists.
    const newest = Math.max(0, ...entries.map((entry) => entry.revokedAt.getTime()));
    const thisUpdate = new Date(
      Math.min(now.getTime(), Math.max(now.getTime() - this.#options.backdateMs, newest)),
    );
    const nextUpdate = new Date(now.getTime() + this.#options.validityMs);
    const crlNumber = this.#nextNumber(now);
    const der = await signCrl(issuer, material.signingKey, {
      crlNumber,
      thisUpdate,
      nextUpdate,
      entries,
    });
    const crl: PublishedCrl = {
      der,
      pem: crlPem(der),
      crlNumber,
      thisUpdate,
      nextUpdate,
      issuerFingerprint: issuer.sha256,
      entries,
    };
    this.#current = crl;
    this.#currentKey = key;
    this.#deps.metrics.revokedCertificates(entries.length);
    this.#deps.logger.info(
      {
        crlNumber: crlNumber.toString(),
        entries: entries.length,
        nextUpdate: nextUpdate.toISOString(),
        issuer: issuer.sha256,
      },
      changed ? 'CRL signed' : 'CRL re-signed',
    );
    if (crl.pem.length > CONFIGMAP_WARNING_BYTES) {
      this.#deps.logger.warn(
        { bytes: crl.pem.length, entries: entries.length },
        'the CRL approaches the 1 MiB a ConfigMap can hold',
      );
    }
    for (const listener of this.#listeners) {
      try {
        listener(crl);
      } catch (error) {
        this.#deps.logger.error({ err: errorMessage(error) }, 'CRL listener failed');
      }
    }
  }

  /** Every unexpired retired or revoked serial of `issuer`, by serial; remembers their expiry. */
  async #read(now: Date, issuer: string): Promise<CrlEntry[]> {
    const entries: CrlEntry[] = [];
    const expiries = new Map<string, number>();
    let cursor: string | undefined;
    do {
      const page = await this.#deps.ledger.revocations(now, issuer, {
        limit: PAGE,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const item of page.items) {
        entries.push({
          serialHex: item.serial,
          revokedAt: new Date(item.revokedAt),
          reason: isCrlReason(item.reason) ? item.reason : 'unspecified',
        });
        expiries.set(item.serial, Date.parse(item.notAfter));
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    this.#expiries = expiries;
    return entries;
  }

  /** The signing time in nanoseconds (ms + a random sub-ms part), above the last one. */
  #nextNumber(now: Date): bigint {
    const fromTime = BigInt(now.getTime()) * 1_000_000n + BigInt(randomInt(1_000_000));
    const next = fromTime > this.#lastNumber ? fromTime : this.#lastNumber + 1n;
    this.#lastNumber = next;
    return next;
  }
}
