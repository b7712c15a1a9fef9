/**
 * The state and steps of one scan (see `scanner.ts` for the order and the memory bounds):
 * references first, then cluster-scoped CA bundles, then Secrets page by page, then the
 * referenced Secrets that were out of scope; each finding settled (identity, allowlist) and
 * handed to the sinks once.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { inventoryPem, parseCertificateBlock, type ParsedCertificate } from '../ca/index.js';
import { errorMessage } from '../errors.js';
import { uniqueAnchors } from './anchors.js';
import {
  classifyCaIssuer,
  classifyHolder,
  classifySelfSignedIssuer,
  classifyServed,
  type HolderEntry,
} from './classify.js';
import {
  FINDING_KINDS,
  SEVERITIES,
  findingId,
  type Finding,
  type FindingDraft,
  type FindingKind,
  type ObjectRef,
  type Severity,
} from './finding.js';
import { Judge } from './judge.js';
import { SOURCES } from './ports.js';
import type {
  ScanSummary,
  SecretRecord,
  SourceAvailability,
  SourceCoverage,
  SourceName,
} from './ports.js';

import {
  CA_BUNDLE_SOURCES,
  ISSUER_CHAIN_ENTRIES,
  ISSUER_SOURCES,
  MAX_SLICE_MS,
  SERVED_ENTRIES,
  SERVING_SOURCES,
  sameObject,
  secretKey,
} from './scan-sources.js';
import type { ScanOptions, ScanProgress, ScannerDependencies } from './scanner.js';

interface ServedBy {
  readonly server: ObjectRef;
  readonly location: string;
}

/** The state of one scan. */
export class ScanRun {
  readonly #deps: ScannerDependencies;
  readonly #options: ScanOptions;
  readonly #signal: AbortSignal;
  readonly #progress: ((progress: ScanProgress) => void) | undefined;
  readonly #scanId = randomBytes(8).toString('hex');
  readonly #startedAt: Date;
  readonly #judge: Judge;
  readonly #coverage: SourceCoverage[] = [];
  readonly #findingIds = new Set<string>();
  readonly #fingerprints = new Set<string>();
  readonly #bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<
    Severity,
    number
  >;
  readonly #byKind = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<
    FindingKind,
    number
  >;
  #allowlisted = 0;
  #findings = 0;
  #unreadable = 0;
  #sliceStart = performance.now();
  /** `namespace/name` of a Secret → the Ingresses and Gateways that serve it. */
  readonly #served = new Map<string, ServedBy[]>();
  /** `namespace/name` of a Secret → the `ca` issuers that sign with it. */
  readonly #issuerSecrets = new Map<string, { issuer: ObjectRef; location: string }[]>();

  constructor(
    deps: ScannerDependencies,
    options: ScanOptions,
    signal: AbortSignal,
    progress: ((progress: ScanProgress) => void) | undefined,
  ) {
    this.#deps = deps;
    this.#options = options;
    this.#signal = signal;
    this.#progress = progress;
    this.#startedAt = deps.clock.now();
    this.#judge = new Judge({
      anchors: uniqueAnchors(deps.anchors()),
      now: this.#startedAt,
      expiringSoonMs: options.expiringSoonMs,
      cache: deps.cache,
    });
  }

  async execute(): Promise<ScanSummary> {
    const { reader } = this.#deps;
    const signal = this.#signal;
    const scope = this.#options.scope;
    for (const sink of this.#deps.sinks) {
      try {
        sink.begin?.({ scanId: this.#scanId, startedAt: this.#startedAt, scope });
      } catch (error) {
        this.#deps.logger.error(
          { sink: sink.name, err: errorMessage(error) },
          'finding sink failed',
        );
      }
    }
    let availability: ReadonlyMap<SourceName, SourceAvailability>;
    try {
      availability = new Map(
        (await reader.availability(signal)).map((entry) => [entry.source, entry]),
      );
    } catch (error) {
      if (signal.aborted) throw error;
      // Nothing can be scanned: every source failed, and the summary says why.
      const detail = `API discovery failed: ${errorMessage(error)}`;
      this.#deps.logger.warn({ err: errorMessage(error) }, 'discovery: API discovery failed');
      for (const source of SOURCES) {
        this.#coverage.push({ source, state: 'failed', objects: 0, detail });
      }
      return this.#finish();
    }

    for (const source of SERVING_SOURCES) {
      await this.#read(availability, source, async (count) => {
        for await (const serving of reader.servingObjects(source, scope, signal)) {
          await count();
          for (const reference of serving.references) {
            const key = `${reference.secret.namespace}/${reference.secret.name}`;
            const list = this.#served.get(key) ?? [];
            if (!list.some((entry) => sameObject(entry.server, serving.object))) {
              list.push({ server: serving.object, location: reference.location });
            }
            this.#served.set(key, list);
          }
        }
      });
    }
    for (const source of ISSUER_SOURCES) {
      await this.#read(availability, source, async (count) => {
        for await (const issuer of reader.issuers(source, scope, signal)) {
          await count();
          if (issuer.type === 'selfSigned') {
            await this.#emit(classifySelfSignedIssuer(issuer.object, 'spec.selfSigned'));
          } else if (issuer.type === 'ca' && issuer.caSecret !== undefined) {
            const namespace = issuer.caSecret.namespace ?? this.#options.certManagerNamespace;
            const key = `${namespace}/${issuer.caSecret.name}`;
            const list = this.#issuerSecrets.get(key) ?? [];
            list.push({ issuer: issuer.object, location: 'spec.ca.secretName' });
            this.#issuerSecrets.set(key, list);
          }
        }
      });
    }
    for (const source of CA_BUNDLE_SOURCES) {
      await this.#read(availability, source, async (count) => {
        for await (const record of reader.caBundles(source, signal)) {
          await count();
          const holder = {
            object: record.object,
            role: 'ca-bundle' as const,
            entries: record.bundles.map((bundle) => this.#entry(bundle.location, bundle.pem)),
            privateKeyEntries: [],
          };
          for (const draft of classifyHolder(holder, this.#judge)) await this.#emit(draft);
        }
      });
    }

    const pending = new Set([...this.#served.keys(), ...this.#issuerSecrets.keys()]);
    await this.#read(availability, 'secrets', async (count, remaining) => {
      const secrets = reader.secrets(scope, signal, (page) => {
        remaining(page.remaining);
      });
      for await (const secret of secrets) {
        await count();
        pending.delete(secretKey(secret.object));
        await this.#secret(secret, true);
      }
    });
    // Referenced from an object in scope but not listed (another namespace, or missing).
    for (const key of pending) {
      const [namespace = '', name = ''] = key.split('/');
      let secret: SecretRecord | undefined;
      try {
        secret = await reader.secret(namespace, name, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        this.#deps.logger.warn({ secret: key, err: errorMessage(error) }, 'cannot read Secret');
        continue;
      }
      if (secret === undefined) {
        for (const { issuer, location } of this.#issuerSecrets.get(key) ?? []) {
          const ref = { apiVersion: 'v1', kind: 'Secret', namespace, name };
          const draft = classifyCaIssuer(issuer, location, ref, undefined, this.#judge);
          if (draft) await this.#emit(draft);
        }
      } else {
        await this.#secret(secret, false);
      }
    }
    return this.#finish();
  }

  /**
   * Lets the event loop run when this scan has held it for {@link MAX_SLICE_MS}: on the leader,
   * the scan shares its process with certificate issuance, whose latency must not suffer.
   */
  async #breathe(): Promise<void> {
    if (performance.now() - this.#sliceStart < MAX_SLICE_MS) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.#sliceStart = performance.now();
  }

  /** Reads one source, recording how it fared. */
  async #read(
    availability: ReadonlyMap<SourceName, SourceAvailability>,
    source: SourceName,
    body: (
      count: () => Promise<void>,
      remaining: (remaining: number | undefined) => void,
    ) => Promise<void>,
  ): Promise<void> {
    const served = availability.get(source);
    const resource = served?.resource === undefined ? {} : { resource: served.resource };
    if (served?.served !== true) {
      this.#coverage.push({ source, state: 'absent', objects: 0, ...resource });
      return;
    }
    let objects = 0;
    let remaining: number | undefined;
    const report = (done: boolean): void => {
      this.#progress?.({
        source,
        objects,
        findings: this.#findings - this.#allowlisted,
        done,
        ...(remaining === undefined ? {} : { remaining }),
      });
    };
    report(false);
    try {
      await body(
        async () => {
          objects++;
          if (objects % 100 === 0) report(false);
          await this.#breathe();
        },
        (value) => {
          remaining = value;
        },
      );
      remaining = undefined;
      this.#coverage.push({ source, state: 'scanned', objects, ...resource });
    } catch (error) {
      if (this.#signal.aborted) throw error;
      const status = (error as { status?: unknown }).status;
      const state = status === 403 ? 'forbidden' : 'failed';
      this.#deps.logger.warn({ source, err: errorMessage(error) }, `discovery: ${source} ${state}`);
      this.#coverage.push({ source, state, objects, detail: errorMessage(error), ...resource });
    }
    report(true);
  }

  /** Classifies one Secret: what it holds (when in scope), what it serves, what it signs with. */
  async #secret(secret: SecretRecord, inScope: boolean): Promise<void> {
    const entries = secret.certificateEntries.map((entry) => this.#entry(entry.key, entry.pem));
    if (inScope) {
      const holder = {
        object: secret.object,
        role: 'secret' as const,
        entries,
        privateKeyEntries: secret.privateKeyEntries,
      };
      for (const draft of classifyHolder(holder, this.#judge)) await this.#emit(draft);
    }
    const key = secretKey(secret.object);
    const certificatesOf = (names: readonly string[]): ParsedCertificate[] =>
      names.flatMap((name) => entries.find((entry) => entry.location === name)?.certificates ?? []);
    const servedBy = this.#served.get(key);
    if (servedBy !== undefined) {
      const servedEntry = SERVED_ENTRIES.find((name) =>
        entries.some((entry) => entry.location === name && entry.certificates.length > 0),
      );
      const chain = servedEntry === undefined ? [] : certificatesOf([servedEntry]);
      for (const { server, location } of servedBy) {
        const pool = entries.flatMap((entry) => entry.certificates);
        const draft = classifyServed(server, location, secret.object, chain, this.#judge, pool);
        if (draft) await this.#emit(draft);
      }
    }
    for (const { issuer, location } of this.#issuerSecrets.get(key) ?? []) {
      const chain = certificatesOf(ISSUER_CHAIN_ENTRIES);
      const draft = classifyCaIssuer(
        issuer,
        location,
        secret.object,
        chain.length === 0 ? undefined : chain,
        this.#judge,
      );
      if (draft) await this.#emit(draft);
    }
  }

  /** Parses one certificate entry, counting what cannot be read. */
  #entry(location: string, pem: string): HolderEntry {
    const inventory = inventoryPem(pem);
    this.#unreadable += inventory.ignoredBlocks;
    const certificates: ParsedCertificate[] = [];
    for (const block of inventory.certificates) {
      this.#fingerprints.add(block.sha256);
      try {
        certificates.push(parseCertificateBlock(block));
      } catch {
        this.#unreadable++;
      }
    }
    return { location, certificates };
  }

  /** Settles a finding's identity and allowlist state and hands it to every sink, once. */
  async #emit(draft: FindingDraft): Promise<void> {
    const id = findingId(draft.kind, draft.object, draft.certificate?.sha256);
    if (this.#findingIds.has(id)) return;
    this.#findingIds.add(id);
    const allowlisted = this.#deps.allowlist.match(draft);
    const finding: Finding = { id, ...draft, ...(allowlisted ? { allowlisted } : {}) };
    this.#findings++;
    if (allowlisted) {
      this.#allowlisted++;
    } else {
      this.#bySeverity[finding.severity]++;
      this.#byKind[finding.kind]++;
    }
    for (const sink of this.#deps.sinks) {
      try {
        await sink.record(finding);
      } catch (error) {
        this.#deps.logger.error(
          { sink: sink.name, err: errorMessage(error) },
          'finding sink failed',
        );
      }
    }
  }

  async #finish(): Promise<ScanSummary> {
    const summary: ScanSummary = {
      scanId: this.#scanId,
      startedAt: this.#startedAt,
      finishedAt: this.#deps.clock.now(),
      scope: this.#options.scope,
      complete: this.#coverage.every(
        (entry) => entry.state === 'scanned' || entry.state === 'absent',
      ),
      sources: [...this.#coverage].sort(
        (a, b) => SOURCES.indexOf(a.source) - SOURCES.indexOf(b.source),
      ),
      certificates: this.#fingerprints.size,
      unreadable: this.#unreadable,
      anchors: this.#judge.anchors.length,
      bySeverity: { ...this.#bySeverity },
      byKind: { ...this.#byKind },
      allowlisted: this.#allowlisted,
      findings: this.#findings,
    };
    for (const sink of this.#deps.sinks) {
      try {
        await sink.complete(summary);
      } catch (error) {
        this.#deps.logger.error(
          { sink: sink.name, err: errorMessage(error) },
          'finding sink failed',
        );
      }
    }
    return summary;
  }
}
