/**
 * Wiring of `meshca serve`: continuous rogue-CA discovery (GOVERNANCE.md §4) on the leader. The
 * same scanner as `meshca scan`, over the local cluster, with meshca's own roots (followed
 * across rotations) plus the configured ones approved, and its findings sent to the metrics, to
 * Kubernetes Events on the objects, to the ledger, and kept as the last report, served at
 * `/v1/discovery/report` on the operations port to those who may read the inventory.
 *
 * @module
 */
import type { CertificateAuthority } from '../ca/index.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import {
  Allowlist,
  DiscoveryScanner,
  EventFindingSink,
  MetricsFindingSink,
  ReportSink,
  Scanner,
  VerdictCache,
  discoveryReportRoute,
  loadAllowlist,
  loadApprovedRoots,
  type AllowlistRule,
  type FindingSink,
} from '../discovery/index.js';
import { InventoryAccess } from '../inventory/index.js';
import {
  KubeClusterCertificateReader,
  KubeEventRecorder,
  KubeTokenReviewApi,
} from '../kube/index.js';
import type { Logger } from '../logger.js';
import { DiscoveryMetrics, type CaMetrics } from '../metrics/index.js';
import type { LeadershipFollower, PartRunner } from '../runtime/index.js';
import type { OpsRoute } from '../server/index.js';
import type { ClusterRuntime } from './serve-clusters.js';
import { isLoopback } from './serve-ledger.js';

/** Events per second discovery may post, and how long one finding stays quiet once posted. */
const EVENTS_PER_SECOND = 5;
const EVENT_REPEAT_AFTER_MS = 6 * 3_600_000;
/** Certificates whose verdict is remembered between scans (a fingerprint and a verdict each). */
const VERDICT_CACHE_ENTRIES = 100_000;
/** Findings the last report keeps (the metrics and the ledger see all of them). */
const REPORT_MAX_FINDINGS = 10_000;

/** What serve gets back: the leadership follower, the last report and its route. */
export interface DiscoveryWiring {
  readonly follower: LeadershipFollower;
  readonly report: ReportSink;
  /** `/v1/discovery/report` on the operations port. */
  readonly routes: readonly OpsRoute[];
}

/**
 * Adds the discovery parts (the Event recorder, then the scanner) when `discovery` is on.
 *
 * @param extraSinks Sinks other concerns provide (the ledger's).
 */
export async function discovery(
  config: Config,
  local: ClusterRuntime | undefined,
  authority: CertificateAuthority,
  runner: PartRunner,
  deps: {
    readonly logger: Logger;
    readonly metrics: CaMetrics;
    readonly clock: Clock;
    readonly extraSinks?: readonly FindingSink[];
  },
): Promise<DiscoveryWiring | undefined> {
  const settings = config.discovery;
  if (!settings.enabled || local === undefined || config.kubernetes === undefined) {
    return undefined;
  }
  const logger = deps.logger.child({ component: 'discovery' });
  const extraRoots = await loadApprovedRoots(settings.approvedRoots);
  let allowlist =
    settings.allowlist === undefined ? new Allowlist([]) : await loadAllowlist(settings.allowlist);
  // meshca's own CA Secret holds a CA key by design: reported, marked, never counted.
  const own: AllowlistRule[] = [];
  if (config.ca.source.kind === 'secret') {
    own.push({
      object: {
        kind: 'Secret',
        namespace: config.ca.source.namespace,
        name: config.ca.source.name,
      },
      reason: "meshca's own CA material (caSecret)",
    });
  }
  allowlist = allowlist.with(own);
  const report = new ReportSink({ cluster: config.cluster.id, maxFindings: REPORT_MAX_FINDINGS });
  const sinks: FindingSink[] = [
    report,
    new MetricsFindingSink(new DiscoveryMetrics(deps.metrics.registry)),
    ...(deps.extraSinks ?? []),
  ];
  if (settings.events) {
    const recorder = runner.add(
      new KubeEventRecorder(
        local.client,
        {
          component: 'meshca',
          instance: config.kubernetes.podName,
          eventsPerSecond: EVENTS_PER_SECOND,
          queueSize: 1000,
          repeatAfterMs: EVENT_REPEAT_AFTER_MS,
          rememberedKeys: 10_000,
          requestTimeoutMs: config.kubernetes.controllers.requestTimeoutMs,
        },
        { clock: deps.clock, logger },
      ),
    );
    sinks.push(new EventFindingSink(recorder));
  }
  const scanner = new Scanner(
    {
      reader: new KubeClusterCertificateReader(local.client, {
        pageSize: settings.pageSize,
        requestTimeoutMs: config.kubernetes.controllers.requestTimeoutMs,
      }),
      // meshca's roots as they are now: a rotation changes what is approved at once.
      anchors: () =>
        authority.ready
          ? [...authority.current().material.trustBundle.roots, ...extraRoots]
          : extraRoots,
      allowlist,
      sinks,
      cache: new VerdictCache(VERDICT_CACHE_ENTRIES),
      clock: deps.clock,
      logger,
    },
    {
      scope: { namespaces: settings.namespaces },
      expiringSoonMs: settings.expiringWithinMs,
      certManagerNamespace: settings.certManagerNamespace,
    },
  );
  const part = runner.add(
    new DiscoveryScanner(
      { scanner, logger, clock: deps.clock },
      { intervalMs: settings.intervalMs, initialDelayMs: settings.initialDelayMs },
    ),
  );
  logger.info(
    { intervalMs: settings.intervalMs, namespaces: settings.namespaces, events: settings.events },
    'rogue-CA discovery enabled (leader only)',
  );
  // Read like the inventory: the same allowed accounts and groups, or loopback.
  const access = new InventoryAccess(
    {
      serviceAccounts: config.ledger.inventory.serviceAccounts,
      groups: config.ledger.inventory.groups,
      audience: config.ledger.inventory.audience,
      anonymous: isLoopback(config.http.listen),
    },
    new KubeTokenReviewApi(local.client, config.authentication.tokenReview),
    deps.clock,
  );
  const routes = [discoveryReportRoute({ report: () => report.report(), access })];
  return { follower: part, report, routes };
}
