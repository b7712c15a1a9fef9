/**
 * istiod's serving certificate, so that istiod runs with its own CA off (`ENABLE_CA_SERVER=false`,
 * ISTIO-CONTRACT.md §6.2, checklist 35). istiod reads the Secret `istiod-tls` from its well-known
 * mount (`/var/run/secrets/istiod/tls`, since Istio 1.16) and reloads it when it changes:
 * `tls.crt` (leaf and intermediates), `tls.key`, `ca.crt` (the trust bundle).
 *
 * DNS names are `istiod.<ns>.svc` for the default revision and `istiod-<rev>.<ns>.svc` for the
 * others (istio-csr got these wrong for a while, #432/#454), plus configured extras. The Secret
 * is issued in-process from the intermediate, renewed at two thirds of its lifetime, re-issued at
 * once when the CA material or the trust bundle changes or when someone edits or deletes it, and
 * written by the leader only.
 *
 * @module
 */
import { X509Certificate, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { issueServerCertificate, renewalTime, type CertificateAuthority } from '../ca/index.js';
import type { Clock } from '../clock.js';
import { errorMessage } from '../errors.js';
import { Informer, apiStatus, type KubeClient, type RawObject } from '../kube/index.js';
import type { Logger } from '../logger.js';
import type { CaMetrics } from '../metrics/index.js';
import { BackgroundLoops, type LeadershipFollower, type Part } from '../runtime/index.js';
import { WorkQueue } from '../util/index.js';

/** Options of {@link IstiodCertificateController}. */
export interface IstiodCertificateOptions {
  /** istiod's namespace (Istio's default: istio-system). */
  readonly namespace: string;
  readonly secretName: string;
  /** Istio revisions served; `default` maps to `istiod`, others to `istiod-<rev>`. */
  readonly revisions: readonly string[];
  readonly extraDnsNames: readonly string[];
  readonly ttlSeconds: number;
  readonly backdateSeconds: number;
  readonly keyType: 'ec' | 'rsa';
  readonly requestTimeoutMs: number;
}

interface RawSecret extends RawObject {
  readonly data?: Readonly<Record<string, string>>;
  readonly type?: string;
}

const KEY = 'reconcile';

/** The DNS names istiod's certificate must carry. */
export function istiodDnsNames(
  options: Pick<IstiodCertificateOptions, 'namespace' | 'revisions' | 'extraDnsNames'>,
): string[] {
  const names = options.revisions.map((revision) =>
    revision === 'default'
      ? `istiod.${options.namespace}.svc`
      : `istiod-${revision}.${options.namespace}.svc`,
  );
  return [...new Set([...names, ...options.extraDnsNames])];
}

/** Keeps `istiod-tls` valid, current and exact. */
export class IstiodCertificateController implements Part, LeadershipFollower {
  readonly name = 'istiod-tls';
  readonly #loops: BackgroundLoops;
  #unsubscribe: (() => void) | undefined;
  readonly #client: KubeClient;
  readonly #authority: CertificateAuthority;
  readonly #options: IstiodCertificateOptions;
  readonly #logger: Logger;
  readonly #metrics: CaMetrics;
  readonly #clock: Clock;
  readonly #secrets: Informer<RawSecret>;
  readonly #queue: WorkQueue;
  readonly #dnsNames: readonly string[];
  #leading = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    client: KubeClient,
    authority: CertificateAuthority,
    options: IstiodCertificateOptions,
    deps: { readonly logger: Logger; readonly metrics: CaMetrics; readonly clock: Clock },
  ) {
    this.#client = client;
    this.#authority = authority;
    this.#options = options;
    this.#logger = deps.logger.child({ controller: 'istiod-tls' });
    this.#metrics = deps.metrics;
    this.#clock = deps.clock;
    this.#dnsNames = istiodDnsNames(options);
    this.#secrets = new Informer<RawSecret>(
      client,
      {
        name: 'istiod-tls',
        path: `/api/v1/namespaces/${options.namespace}/secrets`,
        fieldSelector: `metadata.name=${options.secretName}`,
        resyncMs: 0,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: (raw) => raw,
      },
      this.#logger,
    );
    this.#queue = new WorkQueue(() => this.#reconcile(), {
      workers: 1,
      retryInitialMs: 500,
      // A few seconds at most, so that writes resume promptly after an API-server outage.
      retryMaxMs: 5_000,
      onError: (_key, error) => {
        this.#metrics.reconcileError('istiod-tls');
        this.#logger.warn({ err: errorMessage(error) }, 'reconcile failed; will retry');
      },
    });
    this.#loops = new BackgroundLoops(this.#logger);
    this.#secrets.on(() => {
      this.#enqueue();
    });
  }

  /** Starts watching the Secret and following the CA material; resolves at once. */
  async start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#loops.signal.addEventListener(
      'abort',
      () => {
        this.#stopWriting();
      },
      { once: true },
    );
    this.#unsubscribe = this.#authority.onChange(() => {
      this.#enqueue();
    });
    await this.#secrets.start(this.#loops.signal);
  }

  /** Stops writing and watching; waits for the loops. */
  async close(): Promise<void> {
    this.#stopWriting();
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#loops.close();
    await this.#queue.close();
    await this.#secrets.close();
  }

  /** Leadership changed: only the leader writes. */
  setLeading(leading: boolean): void {
    this.#leading = leading;
    if (leading) {
      this.#loops.run('catch-up', async (signal) => {
        await this.#secrets.waitForSync(signal);
        if (!signal.aborted) this.#enqueue();
      });
    }
  }

  #stopWriting(): void {
    this.#queue.stop();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #enqueue(): void {
    if (this.#leading) this.#queue.add(KEY);
  }

  async #reconcile(): Promise<void> {
    if (!this.#leading || !this.#authority.ready) return;
    if (!this.#secrets.synced) throw new Error('Secret cache not synced yet');
    const authority = this.#authority.current();
    const bundle = authority.material.trustBundle.pem;
    const existing = this.#secrets.get(`${this.#options.namespace}/${this.#options.secretName}`);
    const refusal = existing === undefined ? undefined : foreignOwner(existing);
    if (refusal !== undefined) {
      // Two controllers rewriting one Secret would fight forever (e.g. istio-csr's Certificate
      // during a migration): leave it alone and say what to do.
      this.#logger.error(
        { secret: `${this.#options.namespace}/${this.#options.secretName}`, reason: refusal },
        'istiod certificate not written',
      );
      this.#metrics.reconcileError('istiod-tls');
      return;
    }
    const renewAt = existing
      ? this.#currentRenewAt(existing, bundle, authority.material.signingCert.sha256)
      : undefined;
    if (renewAt !== undefined && renewAt > this.#clock.now()) {
      this.#scheduleAt(renewAt);
      return;
    }

    const { publicKey, privateKey } = await this.#newKey();
    const issued = await issueServerCertificate(
      authority,
      {
        publicKey,
        subjectAltNames: this.#dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ttlSeconds: this.#options.ttlSeconds,
        backdateSeconds: this.#options.backdateSeconds,
      },
      this.#clock.now(),
    );
    const data = {
      'tls.crt': b64([issued.pem, ...issued.intermediatePems].join('')),
      'tls.key': b64(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
      'ca.crt': b64(issued.trustBundle.pem),
    };
    const path = `/api/v1/namespaces/${this.#options.namespace}/secrets`;
    const timeout = AbortSignal.any([
      this.#loops.signal,
      AbortSignal.timeout(this.#options.requestTimeoutMs),
    ]);
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        ...(existing?.metadata ?? {}),
        name: this.#options.secretName,
        namespace: this.#options.namespace,
        labels: { ...(existing?.metadata?.labels ?? {}), 'app.kubernetes.io/managed-by': 'meshca' },
      },
      data,
    };
    try {
      if (existing === undefined) {
        await this.#client.requestJson('POST', path, body, timeout);
      } else {
        await this.#client.requestJson('PUT', `${path}/${this.#options.secretName}`, body, timeout);
      }
    } catch (error) {
      if (apiStatus(error) === 404 && existing !== undefined) {
        throw new Error('Secret vanished; retrying', { cause: error });
      }
      throw error;
    }
    this.#metrics.certificateExpiry('istiod', issued.notAfter);
    this.#logger.info(
      {
        secret: `${this.#options.namespace}/${this.#options.secretName}`,
        dnsNames: this.#dnsNames,
        notAfter: issued.notAfter.toISOString(),
      },
      'istiod certificate issued',
    );
    this.#scheduleAt(renewalTime(issued.notBefore, issued.notAfter, this.#options.backdateSeconds));
  }

  /**
   * When the existing Secret must be renewed, or undefined when it must be replaced now: wrong
   * names, another issuer, a stale bundle, a key that does not match, unreadable content.
   */
  #currentRenewAt(secret: RawSecret, bundle: string, signing: string): Date | undefined {
    try {
      const data = secret.data ?? {};
      const chain = Buffer.from(data['tls.crt'] ?? '', 'base64').toString('utf8');
      const key = Buffer.from(data['tls.key'] ?? '', 'base64').toString('utf8');
      const ca = Buffer.from(data['ca.crt'] ?? '', 'base64').toString('utf8');
      // Exactly the three keys istiod reads: anything else is drift, like a wrong value.
      if (Object.keys(data).length !== 3 || ca !== bundle || secret.type !== 'kubernetes.io/tls') {
        return undefined;
      }
      const leaf = new X509Certificate(chain);
      const authority = this.#authority.current().material.signingCert;
      if (
        authority.sha256 !== signing ||
        !leaf.checkIssued(authority.x509) ||
        !leaf.verify(authority.x509.publicKey)
      ) {
        return undefined;
      }
      const names = (leaf.subjectAltName ?? '')
        .split(', ')
        .filter((name) => name.startsWith('DNS:'))
        .map((name) => name.slice(4));
      if (
        names.length !== this.#dnsNames.length ||
        !this.#dnsNames.every((name) => names.includes(name))
      )
        return undefined;
      const publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
      if (!publicKey.equals(leaf.publicKey.export({ type: 'spki', format: 'der' })))
        return undefined;
      return renewalTime(
        new Date(leaf.validFrom),
        new Date(leaf.validTo),
        this.#options.backdateSeconds,
      );
    } catch {
      return undefined;
    }
  }

  /** Off the event loop: RSA key generation can take a few hundred milliseconds. */
  #newKey(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
    return this.#options.keyType === 'rsa'
      ? generateKeyPairAsync('rsa', { modulusLength: 2048 })
      : generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  }

  #scheduleAt(at: Date): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#loops.signal.aborted) return;
    const delay = Math.max(1000, Math.min(at.getTime() - this.#clock.now().getTime(), 2 ** 31 - 1));
    this.#timer = setTimeout(() => {
      this.#enqueue();
    }, delay);
    this.#timer.unref();
  }
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Why an existing Secret is not ours to overwrite, or undefined: one managed by cert-manager, or
 * of another type than kubernetes.io/tls (a type cannot be changed, and meshca may not delete
 * the Secret: its RBAC has no delete, so that it can never swap in a Secret of another type).
 */
function foreignOwner(secret: RawSecret): string | undefined {
  const certificate = secret.metadata?.annotations?.['cert-manager.io/certificate-name'];
  if (certificate !== undefined) {
    return `it is managed by the cert-manager Certificate ${certificate}; delete that Certificate (istio-csr: app.tls.istiodCertificateEnable=false) to let meshca issue it`;
  }
  if (secret.type !== undefined && secret.type !== 'kubernetes.io/tls') {
    return `it is of type ${secret.type}, not kubernetes.io/tls; delete it to let meshca create it`;
  }
  return undefined;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
