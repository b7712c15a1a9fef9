/**
 * The shapes of the inventory documents the console reads (schema `meshca.io/inventory/v1`, as
 * the README's Visibility section lists them). Fields are only ever added to the schema, so the
 * console reads the ones it needs.
 *
 * @module
 */

/** One page of a view. */
export interface InventoryDocument<T> {
  readonly schema: string;
  readonly view: string;
  readonly generatedAt: string;
  readonly items: readonly T[];
  readonly nextCursor: string | null;
}

export interface CertificateView {
  readonly serial: string;
  readonly issuerFingerprint: string;
  readonly identity: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly cluster: string | null;
  readonly podName: string | null;
  readonly nodeName: string | null;
  readonly caller: string | null;
  readonly keyAlgorithm: string | null;
  readonly keyBits: number | null;
  readonly issuedAt: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly status: 'active' | 'retired' | 'revoked';
  readonly statusTime: string | null;
  readonly statusReason: string | null;
  readonly statusBy: string | null;
}

export interface DenialView {
  readonly time: string;
  readonly audit: boolean;
  readonly outcome: string;
  readonly errorCode: string | null;
  readonly layer: string | null;
  readonly rule: string | null;
  readonly reason: string | null;
  readonly identity: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly cluster: string | null;
  readonly podName: string | null;
}

export interface IssuerView {
  readonly issuerFingerprint: string;
  readonly issued: number;
  readonly denied: number;
  readonly active: number;
  readonly firstUse: string | null;
  readonly lastUse: string | null;
}

export interface FindingView {
  readonly time: string;
  readonly cluster: string | null;
  readonly kind: string;
  readonly severity: string;
  readonly object: string;
  readonly fingerprint: string | null;
  readonly detail: unknown;
}

export interface DenialRuleView {
  readonly audit: boolean;
  readonly layer: string | null;
  readonly rule: string | null;
  readonly errorCode: string | null;
  readonly count: number;
  readonly firstTime: string;
  readonly lastTime: string;
  readonly latest: readonly {
    readonly time: string;
    readonly identity: string;
    readonly cluster: string | null;
    readonly podName: string | null;
    readonly outcome: string;
    readonly reason: string | null;
  }[];
}

export interface Totals {
  readonly issued: number;
  readonly denied: number;
  readonly audit: number;
  readonly active: number;
  readonly retired: number;
  readonly revoked: number;
}

export interface CertificateFacts {
  readonly fingerprint: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface PolicyFacts {
  readonly layer: string;
  readonly name: string;
  readonly sha256: string;
  readonly origin: string;
  readonly signature: string;
  readonly signedBy: string | null;
}

export interface OverviewItem {
  readonly since: string;
  readonly until: string;
  readonly bucketSeconds: number;
  readonly timeline: readonly {
    readonly start: string;
    readonly issued: number;
    readonly denied: number;
    readonly audit: number;
  }[];
  readonly totals: Totals;
  readonly clusters: readonly (Totals & { readonly cluster: string | null })[];
  readonly issuers: readonly (Totals & { readonly issuerFingerprint: string })[];
  readonly findings: readonly { readonly severity: string; readonly open: number }[];
  readonly findingsSince: string;
  readonly authority: {
    readonly intermediate: CertificateFacts;
    readonly roots: readonly CertificateFacts[];
  } | null;
  readonly policies: readonly PolicyFacts[] | null;
}
