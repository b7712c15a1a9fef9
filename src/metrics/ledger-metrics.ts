/**
 * The identity ledger's metrics (names agreed with the alerts and dashboards: keep them exact).
 *
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** The ledger's metrics, registered on the process's shared registry. */
export class LedgerMetrics {
  readonly #backlog: Gauge;
  readonly #spool: Gauge;
  readonly #written: Counter;
  readonly #dropped: Counter<'reason'>;
  readonly #writeErrors: Counter;
  readonly #spoolWriteErrors: Counter;
  readonly #head: Gauge;
  readonly #revoked: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#backlog = new Gauge({
      name: 'meshca_ledger_backlog_records',
      help: 'Ledger records not yet in the database (queued in memory and spooled on disk).',
      registers,
    });
    this.#spool = new Gauge({
      name: 'meshca_ledger_spool_records',
      help: 'Ledger records waiting in the spool file for the database to come back.',
      registers,
    });
    this.#written = new Counter({
      name: 'meshca_ledger_records_written_total',
      help: 'Ledger records written to the database.',
      registers,
    });
    this.#dropped = new Counter({
      name: 'meshca_ledger_records_dropped_total',
      help: 'Ledger records dropped, by reason (spool-full: the drop-oldest behaviour).',
      labelNames: ['reason'],
      registers,
    });
    this.#writeErrors = new Counter({
      name: 'meshca_ledger_write_errors_total',
      help: 'Failed attempts to write a batch of ledger records (retried).',
      registers,
    });
    this.#spoolWriteErrors = new Counter({
      name: 'meshca_ledger_spool_write_errors_total',
      help: 'Failed writes to the ledger spool file (a full disk): records then wait in memory.',
      registers,
    });
    this.#head = new Gauge({
      name: 'meshca_ledger_chain_head_sequence',
      help: "Sequence number of the newest record in this process's ledger chain.",
      registers,
    });
    this.#revoked = new Gauge({
      name: 'meshca_revoked_certificates',
      help: 'Serials on the certificate revocation list.',
      registers,
    });
    // Present from the start, so that alerts on them never miss a series.
    this.#dropped.inc({ reason: 'spool-full' }, 0);
  }

  /** Records waiting: in memory plus in the spool. */
  backlog(inMemory: number, spooled: number): void {
    this.#backlog.set(inMemory + spooled);
    this.#spool.set(spooled);
  }

  /** Records written to the database. */
  written(count: number): void {
    this.#written.inc(count);
  }

  /** Records dropped because the spool was full. */
  dropped(count: number): void {
    this.#dropped.inc({ reason: 'spool-full' }, count);
  }

  /** A failed batch write. */
  writeError(): void {
    this.#writeErrors.inc();
  }

  /** A failed write to the spool file (append, tombstone or compaction). */
  spoolWriteError(): void {
    this.#spoolWriteErrors.inc();
  }

  /** This process's chain head. */
  chainHead(sequence: number): void {
    this.#head.set(sequence);
  }

  /** Serials on the CRL (set by whoever signs it). */
  revokedCertificates(count: number): void {
    this.#revoked.set(count);
  }
}
