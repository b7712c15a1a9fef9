/**
 * meshca's Prometheus metrics. One registry per process, built in `cli/main.ts` and injected
 * (never prom-client's global default). Label sets are closed: outcomes, error codes and key
 * algorithms come from fixed unions.
 *
 * @module
 */
import type { IssuanceOutcome } from '../events/index.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How a CreateCertificate call ended; the `outcome` label. */
export type RequestOutcome = IssuanceOutcome;

/** The metrics of the issuance path. */
export class CaMetrics {
  readonly registry: Registry;
  readonly #requests: Counter<'outcome' | 'reason'>;
  readonly #duration: Histogram<'outcome'>;
  readonly #issued: Counter<'key_algorithm' | 'ttl_adjustment' | 'auth_method' | 'issuer'>;
  readonly #tokenCache: Counter<'outcome'>;
  readonly #expiry: Gauge<'certificate'>;
  readonly #caReloads: Counter<'result'>;
  readonly #trustBundleWrites: Counter<'action'>;
  readonly #reconcileErrors: Counter<'controller'>;
  readonly #leader: Gauge;
  readonly #kubeReachable: Gauge<'cluster'>;
  #inFlightSource: () => number = () => 0;

  constructor(options: { readonly collectProcessMetrics: boolean }) {
    this.registry = new Registry();
    if (options.collectProcessMetrics) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'meshca_certificate_requests_total',
      help: 'CreateCertificate calls by outcome and reason (the error code, or "ok").',
      labelNames: ['outcome', 'reason'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'meshca_certificate_request_duration_seconds',
      help: 'Time to answer CreateCertificate, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#issued = new Counter({
      name: 'meshca_certificates_issued_total',
      help: 'Workload certificates issued, by key algorithm, TTL adjustment, authentication method and signing intermediate (issuer: its SHA-256).',
      // issuer is bounded by the intermediates a replica signs with: one, two across a rotation.
      labelNames: ['key_algorithm', 'ttl_adjustment', 'auth_method', 'issuer'],
      registers,
    });
    const inFlight = (): number => this.#inFlightSource();
    new Gauge({
      name: 'meshca_certificate_requests_in_flight',
      help: 'CreateCertificate calls being processed.',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    this.#tokenCache = new Counter({
      name: 'meshca_token_cache_total',
      help: 'Token verification cache lookups: hit, miss, shared (joined an in-flight check), negative-hit.',
      labelNames: ['outcome'],
      registers,
    });
    this.#expiry = new Gauge({
      name: 'meshca_certificate_expiry_timestamp_seconds',
      help: 'notAfter of the CA certificates in use: signing (the intermediate), root (earliest root), serving.',
      labelNames: ['certificate'],
      registers,
    });
    this.#caReloads = new Counter({
      name: 'meshca_ca_reloads_total',
      help: 'Attempts to load CA material, by result (loaded, rejected).',
      labelNames: ['result'],
      registers,
    });
    this.#trustBundleWrites = new Counter({
      name: 'meshca_trust_bundle_configmap_writes_total',
      help: 'Writes of the istio-ca-root-cert ConfigMap, by action (created, updated, deleted).',
      labelNames: ['action'],
      registers,
    });
    this.#reconcileErrors = new Counter({
      name: 'meshca_reconcile_errors_total',
      help: 'Failed reconciles (retried with backoff), by controller.',
      labelNames: ['controller'],
      registers,
    });
    this.#kubeReachable = new Gauge({
      name: 'meshca_kube_api_reachable',
      help: '1 while the API server of the cluster answered within the last 30 s (not part of readiness).',
      labelNames: ['cluster'],
      registers,
    });
    this.#leader = new Gauge({
      name: 'meshca_leader',
      help: '1 while this replica holds the leader Lease (and writes ConfigMaps and Secrets).',
      registers,
    });
  }

  /** Records the end of one CreateCertificate call. */
  requestFinished(outcome: RequestOutcome, reason: string, seconds: number): void {
    this.#requests.inc({ outcome, reason });
    this.#duration.observe({ outcome }, seconds);
  }

  /** Records a write of the trust-bundle ConfigMap. */
  trustBundleWrite(action: 'created' | 'updated' | 'deleted'): void {
    this.#trustBundleWrites.inc({ action });
  }

  /** Records a failed reconcile (retried with backoff). */
  reconcileError(controller: string): void {
    this.#reconcileErrors.inc({ controller });
  }

  /** Publishes whether the API server of `cluster` answers. */
  kubeApiReachable(cluster: string, reachable: boolean): void {
    this.#kubeReachable.set({ cluster }, reachable ? 1 : 0);
  }

  /** Publishes whether this replica leads. */
  leading(leading: boolean): void {
    this.#leader.set(leading ? 1 : 0);
  }

  /**
   * Records one issued workload certificate.
   *
   * @param issuer SHA-256 (hex) of the intermediate that signed it, as the ledger records it.
   */
  certificateIssued(
    keyAlgorithm: string,
    ttlAdjustment: string,
    authMethod: string,
    issuer: string,
  ): void {
    this.#issued.inc({
      key_algorithm: keyAlgorithm,
      ttl_adjustment: ttlAdjustment,
      auth_method: authMethod,
      issuer,
    });
  }

  /** Reads the in-flight gauge from `count` at every scrape (the service keeps the count). */
  trackInFlight(count: () => number): void {
    this.#inFlightSource = count;
  }

  /** Records a token cache lookup. */
  tokenCache(outcome: string): void {
    this.#tokenCache.inc({ outcome });
  }

  /** Publishes the expiry of a CA certificate in use. */
  certificateExpiry(certificate: 'signing' | 'root' | 'serving' | 'istiod', notAfter: Date): void {
    this.#expiry.set({ certificate }, notAfter.getTime() / 1000);
  }

  /** Records an attempt to load CA material. */
  caReload(result: 'loaded' | 'rejected'): void {
    this.#caReloads.inc({ result });
  }

  /** The exposition text and its content type, for `/metrics`. */
  async exposition(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
