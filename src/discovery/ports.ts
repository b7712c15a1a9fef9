/**
 * The two ports of rogue-CA discovery: what it reads from a cluster
 * ({@link ClusterCertificateReader}, implemented in `kube/` by `KubeClusterCertificateReader`)
 * and where its findings go ({@link FindingSink}: metrics, Kubernetes Events, the ledger, a
 * report). Discovery itself never imports the Kubernetes client.
 *
 * @module
 */
import type { Finding, ObjectRef, Severity, FindingKind } from './finding.js';

/** The places discovery looks, one per API resource. */
export const SOURCES = [
  'secrets',
  'ingresses',
  'istio-gateways',
  'gateway-api-gateways',
  'cert-manager-issuers',
  'cert-manager-cluster-issuers',
  'validating-webhook-configurations',
  'mutating-webhook-configurations',
  'api-services',
] as const;

/** One place discovery looks. */
export type SourceName = (typeof SOURCES)[number];

/** Sources that name the Secrets they serve to clients. */
export type ServingSource = 'ingresses' | 'istio-gateways' | 'gateway-api-gateways';
/** cert-manager issuers. */
export type IssuerSource = 'cert-manager-issuers' | 'cert-manager-cluster-issuers';
/** Cluster-scoped objects carrying a `caBundle`. */
export type CaBundleSource =
  'validating-webhook-configurations' | 'mutating-webhook-configurations' | 'api-services';

/** Whether a source can be read in this cluster (API discovery). */
export interface SourceAvailability {
  readonly source: SourceName;
  /** `absent`: the API (or CRD) is not served here, so there is nothing to find. */
  readonly served: boolean;
  /** `group/version/resource` read, e.g. `networking.k8s.io/v1/ingresses`. */
  readonly resource?: string;
}

/** Which namespaces a scan covers. Cluster-scoped sources are always read. */
export interface ScanScope {
  /** Empty: every namespace. */
  readonly namespaces: readonly string[];
}

/** A Secret reduced to what discovery may see. */
export interface SecretRecord {
  readonly object: ObjectRef;
  /** The Secret's `type`, e.g. `kubernetes.io/tls` or `Opaque`. */
  readonly type: string;
  /**
   * The entries that hold certificates (`tls.crt`, `ca.crt`, `ca-cert.pem`, `root-cert.pem`,
   * `cert-chain.pem`, Istio's `cert`/`cacert`), as PEM text with every private-key block already
   * removed by the reader.
   */
  readonly certificateEntries: readonly { readonly key: string; readonly pem: string }[];
  /**
   * Names of the entries that hold a private key: entries named like one (`tls.key`,
   * `ca-key.pem`, `key.pem`, `*.key`...) and certificate entries that had a private-key block
   * pasted in (reported as `tls.crt`). Only names: the values are never read.
   */
  readonly privateKeyEntries: readonly string[];
}

/** An Ingress or Gateway and the Secrets it serves to clients. */
export interface ServingObject {
  readonly object: ObjectRef;
  readonly references: readonly {
    /** `spec.tls[0]`, `spec.servers[1].tls.credentialName`, `spec.listeners[https].tls.certificateRefs[0]`. */
    readonly location: string;
    readonly secret: { readonly namespace: string; readonly name: string };
  }[];
}

/** A cert-manager Issuer or ClusterIssuer. */
export interface IssuerRecord {
  readonly object: ObjectRef;
  /** The issuer's type: the one key of its spec that names it. */
  readonly type: 'selfSigned' | 'ca' | 'other';
  /**
   * For `ca` issuers: the Secret with the CA's certificate and key. No namespace for a
   * ClusterIssuer: cert-manager reads it from its cluster resource namespace.
   */
  readonly caSecret?: { readonly namespace?: string; readonly name: string };
}

/** A webhook configuration or APIService with its CA bundles. */
export interface CaBundleRecord {
  readonly object: ObjectRef;
  /** One per `caBundle` field: location and PEM text. */
  readonly bundles: readonly { readonly location: string; readonly pem: string }[];
}

/** How far a page-by-page listing has got, for progress displays. */
export interface ListProgress {
  readonly listed: number;
  /** The API server's `remainingItemCount`, when it gives one. */
  readonly remaining?: number;
}

/**
 * Read access to the objects that hold or reference certificates. Implementations page through
 * lists (`limit`/`continue`) and yield one object at a time, so that a caller holds one page at
 * most; they never return or keep the value of a private key.
 *
 * Errors: a refused request throws an error with a numeric `status` property (the HTTP status:
 * 403 when RBAC forbids the list); anything else throws as is.
 */
export interface ClusterCertificateReader {
  /** API discovery: which sources this cluster serves. */
  availability(signal: AbortSignal): Promise<readonly SourceAvailability[]>;
  /** Every Secret that may hold a certificate, in scope. */
  secrets(
    scope: ScanScope,
    signal: AbortSignal,
    progress?: (progress: ListProgress) => void,
  ): AsyncIterable<SecretRecord>;
  /** One Secret by name; `undefined` when it does not exist. */
  secret(namespace: string, name: string, signal: AbortSignal): Promise<SecretRecord | undefined>;
  servingObjects(
    source: ServingSource,
    scope: ScanScope,
    signal: AbortSignal,
  ): AsyncIterable<ServingObject>;
  issuers(source: IssuerSource, scope: ScanScope, signal: AbortSignal): AsyncIterable<IssuerRecord>;
  caBundles(source: CaBundleSource, signal: AbortSignal): AsyncIterable<CaBundleRecord>;
}

/** How one source fared in a scan. */
export interface SourceCoverage {
  readonly source: SourceName;
  /**
   * `scanned`: read completely. `absent`: the API is not served (nothing to find).
   * `forbidden`: RBAC refused the list. `failed`: another error stopped the listing.
   */
  readonly state: 'scanned' | 'absent' | 'forbidden' | 'failed';
  readonly resource?: string;
  /** Objects read. */
  readonly objects: number;
  /** Why it was not scanned. */
  readonly detail?: string;
}

/** The outcome of one scan. */
export interface ScanSummary {
  readonly scanId: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly scope: ScanScope;
  /** True when every served source was read completely: only then may sinks forget old findings. */
  readonly complete: boolean;
  readonly sources: readonly SourceCoverage[];
  /** Distinct certificates (by fingerprint) examined. */
  readonly certificates: number;
  /** PEM blocks or certificates found in certificate entries that could not be read. */
  readonly unreadable: number;
  /** Approved anchors the scan judged against. */
  readonly anchors: number;
  /** Findings by severity, allowlisted ones excluded. */
  readonly bySeverity: Readonly<Record<Severity, number>>;
  /** Findings by kind, allowlisted ones excluded. */
  readonly byKind: Readonly<Record<FindingKind, number>>;
  readonly allowlisted: number;
  readonly findings: number;
}

/** The start of a scan, as sinks see it. */
export interface ScanStart {
  readonly scanId: string;
  readonly startedAt: Date;
  readonly scope: ScanScope;
}

/**
 * Where findings go. For each scan the scanner calls {@link begin}, then {@link record} once per
 * finding (allowlisted ones included, marked), then {@link complete} once; a scan that is
 * aborted (shutdown, lost leadership) never completes, and the next one begins afresh. Sinks must
 * not throw (the scanner logs and carries on if one does) and must not hold the scan up: a sink
 * that does I/O queues and returns.
 */
export interface FindingSink {
  /** For logs. */
  readonly name: string;
  /** A scan starts: forget any finding recorded by a scan that never completed. */
  begin?(scan: ScanStart): void;
  /** One finding of the current scan. */
  record(finding: Finding): void | Promise<void>;
  /**
   * The scan is over. When `summary.complete` is false some sources were not read: a sink must
   * not conclude that findings it saw before and not in this scan are gone.
   */
  complete(summary: ScanSummary): void | Promise<void>;
  /** This replica stopped scanning (it lost the leadership): drop state others now report. */
  retract?(): void;
}
