/**
 * Wiring of `meshca serve`: the identity ledger and what is built on it.
 * - the recorder: an issuance observer (every decision recorded), an issuance gate (the
 *   `fail-closed` spool), and a part that flushes on shutdown — added before leadership and the
 *   listeners, so that it closes after the gRPC drain and writes what the drained calls recorded;
 * - the pruner (retention);
 * - with a cluster, the retirement of deleted pods' certificates (`lifecycle/`);
 * - with `revocation`, the CRL: signed from the ledger, served at `/crl`, and written by the
 *   leader into `istio-ca-crl` in every namespace that gets the trust bundle;
 * - the inventory API at `/v1/inventory/` on the operations port, and the web console at `/ui/`
 *   that reads it;
 * - the sink through which rogue-CA discovery's findings are recorded.
 *
 * @module
 */
import { isIP } from 'node:net';
import type { CertificateAuthority } from '../ca/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import type { IssuanceGate, IssuanceObserver } from '../events/index.js';
import { InventoryAccess, inventoryRoute, type PolicyFacts } from '../inventory/index.js';
import { KubeTokenReviewApi } from '../kube/index.js';
import type { FindingSink } from '../discovery/index.js';
import { LedgerFindingSink, LedgerPruner, LedgerRecorder } from '../ledger/index.js';
import { CrlPublisher, PodRetirement, crlRoute } from '../lifecycle/index.js';
import type { Logger } from '../logger.js';
import { LedgerMetrics, type CaMetrics } from '../metrics/index.js';
import type { LeadershipFollower, PartRunner } from '../runtime/index.js';
import { splitHostPort, type OpsRoute } from '../server/index.js';
import { crlConfigMaps } from '../trust/index.js';
import { createLedgerStore, describeLedger } from './ledger-store.js';
import { consoleWiring, servingFacts } from './serve-console.js';
import type { ClusterRuntime } from './serve-clusters.js';
import type { PodCaches } from './serve-kubernetes.js';

/** How long the recorder writes on shutdown (after the gRPC drain) before spooling the rest. */
const CLOSE_FLUSH_MS = 5000;
/** A sweep leaves alone certificates younger than this: their pod may not be watched yet. */
const SWEEP_GRACE_MS = 60_000;

/** What the ledger adds to `meshca serve`. */
export interface LedgerWiring {
  readonly observers: readonly IssuanceObserver[];
  readonly gates: readonly IssuanceGate[];
  /** Routes of the operations port: `/v1/inventory/`, `/ui/`, and `/crl` with revocation. */
  readonly routes: readonly OpsRoute[];
  /** Where rogue-CA discovery's findings go into the ledger. */
  readonly findingSinks: readonly FindingSink[];
  /**
   * Adds the parts (recorder first) to `runner`; call after the controllers and before
   * leadership and the listeners. Returns the parts that write to the cluster, for leadership.
   */
  addParts(runner: PartRunner): LeadershipFollower[];
}

/** Collaborators the ledger wiring needs from the composition root. */
export interface LedgerWiringDeps {
  readonly logger: Logger;
  readonly metrics: CaMetrics;
  readonly clock: Clock;
  readonly authority: CertificateAuthority;
  readonly clusters: readonly ClusterRuntime[];
  readonly pods: PodCaches | undefined;
  /** The policy layers in force, for the overview (none without a policy). */
  readonly policies?: () => readonly PolicyFacts[];
}

const NO_LEDGER: LedgerWiring = {
  observers: [],
  gates: [],
  routes: [],
  findingSinks: [],
  addParts: () => [],
};

/** Builds the ledger's parts (nothing is started or added to the runner yet). */
export function ledgerWiring(config: Config, deps: LedgerWiringDeps): LedgerWiring {
  const { ledger } = config;
  const { logger, clock, authority } = deps;
  if (ledger.store.kind === 'off') {
    logger.warn('the identity ledger is off (ledger: off): nothing is recorded');
    return NO_LEDGER;
  }
  const log = logger.child({ component: 'ledger' });
  const store = createLedgerStore(ledger.store, clock, log);
  log.info(
    { ledger: describeLedger(ledger.store), database: store.kind, writer: ledger.writer },
    'identity ledger configured',
  );
  const metrics = new LedgerMetrics(deps.metrics.registry);
  const recorder = new LedgerRecorder(
    {
      writer: ledger.writer,
      spoolPath: ledger.spoolPath,
      spoolMaxRecords: ledger.spoolMaxRecords,
      spoolFull: ledger.spoolFull,
      batchSize: ledger.batchSize,
      flushIntervalMs: ledger.flushIntervalMs,
      headIntervalMs: ledger.headIntervalMs,
      closeTimeoutMs: CLOSE_FLUSH_MS,
    },
    {
      store,
      clock,
      logger: log,
      metrics,
      currentIssuer: () =>
        authority.ready ? authority.current().material.signingCert.sha256 : undefined,
    },
  );
  const pruner = new LedgerPruner(
    { writer: `pruner@${ledger.writer}`, retentionMs: ledger.retentionMs },
    { store, clock, logger: log },
  );

  const { revocation } = ledger;
  const crl = revocation.enabled
    ? new CrlPublisher(
        {
          validityMs: revocation.crlValidityMs,
          checkIntervalMs: revocation.crlCheckIntervalMs,
          backdateMs: config.ttl.backdateSeconds * 1000,
        },
        { authority, ledger: store, clock, logger: logger.child({ component: 'crl' }), metrics },
      )
    : undefined;
  if (crl !== undefined && store.kind === 'sqlite' && config.kubernetes?.leaderElection.enabled) {
    logger.warn(
      'revocation with an SQLite ledger: each replica records only its own certificates, so its CRL (and the istio-ca-crl the leader writes) lists only those; use PostgreSQL with several replicas',
    );
  }

  const retirement =
    deps.pods === undefined || config.kubernetes === undefined
      ? undefined
      : new PodRetirement(
          {
            ownsDatabase: store.kind === 'sqlite',
            sweepIntervalMs: config.kubernetes.controllers.resyncMs,
            graceMs: SWEEP_GRACE_MS,
          },
          {
            pods: deps.pods.indexes,
            recorder,
            ledger: store,
            clock,
            logger: logger.child({ component: 'retirement' }),
            ...(crl === undefined ? {} : { onRetired: crlAfterWrite(recorder, crl) }),
          },
        );

  const local = deps.clusters[0];
  const access = new InventoryAccess(
    {
      serviceAccounts: ledger.inventory.serviceAccounts,
      groups: ledger.inventory.groups,
      audience: ledger.inventory.audience,
      anonymous: isLoopback(config.http.listen),
    },
    local === undefined
      ? undefined
      : new KubeTokenReviewApi(local.client, config.authentication.tokenReview),
    clock,
  );
  const routes: OpsRoute[] = [
    inventoryRoute({
      query: store,
      access,
      clock,
      logger: logger.child({ component: 'inventory' }),
      facts: servingFacts(authority, deps.policies ?? (() => [])),
    }),
    ...consoleWiring(),
    ...(crl === undefined ? [] : [crlRoute(crl)]),
  ];

  return {
    observers: [recorder, ...(retirement === undefined ? [] : [retirement])],
    gates: [recorder],
    routes,
    findingSinks: [new LedgerFindingSink(recorder, clock, config.cluster.id)],
    addParts(runner) {
      runner.add(recorder);
      runner.add(pruner);
      const followers: LeadershipFollower[] = [];
      if (crl !== undefined) {
        runner.add(crl);
        followers.push(...crlWriters(config, deps, crl, runner));
      }
      if (retirement !== undefined) followers.push(runner.add(retirement));
      return followers;
    },
  };
}

/**
 * The `istio-ca-crl` ConfigMaps of every cluster that gets the trust bundle (none when meshca does
 * not distribute the bundle), fed by the CRL publisher; written by the leader only.
 */
function crlWriters(
  config: Config,
  deps: LedgerWiringDeps,
  crl: CrlPublisher,
  runner: PartRunner,
): LeadershipFollower[] {
  const kubernetes = config.kubernetes;
  if (!kubernetes?.trustBundle.enabled) return [];
  return deps.clusters.map((cluster, position) => {
    const configMaps = runner.add(
      crlConfigMaps(
        cluster.client,
        {
          namespaceSelector: kubernetes.trustBundle.namespaceSelector,
          excludedNamespaces: kubernetes.trustBundle.excludedNamespaces,
          resyncMs: kubernetes.controllers.resyncMs,
          requestTimeoutMs: kubernetes.controllers.requestTimeoutMs,
          writesPerSecond: kubernetes.controllers.writesPerSecond,
        },
        {
          logger: deps.logger.child({ cluster: cluster.id }),
          metrics: deps.metrics,
          ...(position === 0 ? {} : { clusterId: cluster.id }),
        },
      ),
    );
    crl.onChange((signed) => {
      configMaps.publish(signed.pem);
    });
    return configMaps;
  });
}

/**
 * After a retirement, the CRL reads the ledger as soon as the record is written (one flush at a
 * time, however many pods go at once), rather than at its next check.
 */
function crlAfterWrite(recorder: LedgerRecorder, crl: CrlPublisher): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    void recorder
      .flush(2000)
      .catch(() => undefined)
      .then(() => {
        pending = false;
        crl.refresh();
      });
  };
}

/** True when `listen` binds a loopback address only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(listen: string): boolean {
  const { host } = splitHostPort(listen);
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}
