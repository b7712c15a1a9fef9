/**
 * CA material from a Kubernetes Secret, watched through the API: Istio's `cacerts` layout
 * (`ca-cert.pem`, `ca-key.pem`, `cert-chain.pem`, `root-cert.pem`) or a `kubernetes.io/tls`-style
 * Secret (`tls.crt` = signing certificate, optionally followed by its chain, `tls.key`, `ca.crt` =
 * roots), as istiod accepts both (ISTIO-CONTRACT.md §5.1). Only that one Secret is watched
 * (field selector on its name), so meshca needs no access to other Secrets.
 *
 * @module
 */
import { Informer, type InformerEvent, type KubeClient, type RawObject } from '../kube/index.js';
import type { Logger } from '../logger.js';
import { BackgroundLoops, type Part, type ReadinessCheck } from '../runtime/index.js';
import { sleep } from '../util/index.js';
import { CaMaterialError, type CaMaterialSource } from './material.js';
import type { CaReloader } from './reload.js';

interface RawSecret extends RawObject {
  readonly data?: Readonly<Record<string, string>>;
}

/** Reads the material out of a Secret's data. */
export function caSourceFromSecret(secret: RawSecret, name: string): CaMaterialSource {
  const data = secret.data ?? {};
  const text = (key: string): string | undefined => {
    const value = data[key];
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  if (text('ca-cert.pem') !== undefined || text('ca-key.pem') !== undefined) {
    return {
      caCertPem: text('ca-cert.pem') ?? '',
      caKeyPem: text('ca-key.pem') ?? '',
      certChainPem: text('cert-chain.pem'),
      rootCertPem: text('root-cert.pem') ?? '',
    };
  }
  if (text('tls.crt') !== undefined) {
    return {
      caCertPem: text('tls.crt') ?? '',
      caKeyPem: text('tls.key') ?? '',
      certChainPem: undefined,
      rootCertPem: text('ca.crt') ?? '',
    };
  }
  throw new CaMaterialError(
    `Secret ${name} holds neither ca-cert.pem/ca-key.pem nor tls.crt/tls.key`,
  );
}

/** Options of {@link SecretCaSource}. */
export interface SecretCaSourceOptions {
  readonly namespace: string;
  readonly name: string;
  readonly requestTimeoutMs: number;
  /** How often material refused only for now (rotation timing, not yet valid) is offered again. */
  readonly retryIntervalMs: number;
}

/** Watches one Secret and offers its material to the {@link CaReloader}. */
export class SecretCaSource implements Part {
  readonly name = 'ca-source';
  readonly #informer: Informer<RawSecret>;
  readonly #reloader: CaReloader;
  readonly #options: SecretCaSourceOptions;
  readonly #logger: Logger;
  readonly #loops: BackgroundLoops;
  /** Changes seen before the first load are the first load itself, not reloads. */
  #loaded = false;

  constructor(
    client: KubeClient,
    reloader: CaReloader,
    options: SecretCaSourceOptions,
    logger: Logger,
  ) {
    this.#reloader = reloader;
    this.#options = options;
    this.#logger = logger.child({ component: 'ca-source' });
    this.#loops = new BackgroundLoops(this.#logger);
    this.#informer = new Informer<RawSecret>(
      client,
      {
        name: 'ca-secret',
        path: `/api/v1/namespaces/${options.namespace}/secrets`,
        fieldSelector: `metadata.name=${options.name}`,
        resyncMs: 0,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: (raw) => raw,
      },
      this.#logger,
    );
    this.#informer.on((event, secret) => {
      if (this.#loaded) this.#changed(event, secret);
    });
  }

  /** `namespace/name`, for logs. */
  get description(): string {
    return `secret ${this.#options.namespace}/${this.#options.name}`;
  }

  /**
   * Loads the Secret's material once the first list is in, then follows every change.
   *
   * @throws {@link CaMaterialError} when the Secret does not exist or holds invalid material.
   */
  async start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    await this.#informer.start(this.#loops.signal);
    await this.#informer.waitForSync(this.#loops.signal);
    if (this.#loops.signal.aborted) throw new CaMaterialError(`${this.description}: not loaded`);
    const secret = this.#informer.get(`${this.#options.namespace}/${this.#options.name}`);
    if (secret === undefined) throw new CaMaterialError(`${this.description} not found`);
    this.#reloader.offer(caSourceFromSecret(secret, this.description), this.description);
    this.#loaded = true;
    this.#loops.run('retry-refused', (loopSignal) => this.#retryRefused(loopSignal));
  }

  /** Stops watching. */
  async close(): Promise<void> {
    await this.#loops.close();
    await this.#informer.close();
  }

  /** The CA's own checks (`ca`, `roots`). */
  readiness(): readonly ReadinessCheck[] {
    return this.#reloader.readiness();
  }

  #changed(event: InformerEvent, secret: RawSecret): void {
    if (event === 'delete') {
      this.#logger.error(
        { secret: this.description },
        'CA Secret deleted; keeping the current material',
      );
      return;
    }
    try {
      this.#reloader.offer(caSourceFromSecret(secret, this.description), this.description);
    } catch (error) {
      // A Secret in neither layout: refused and counted like broken material.
      this.#reloader.unreadable(this.description, error);
    }
  }

  /**
   * A watched Secret reports a change once: material the rotation checks refused only because it
   * came too early is offered again on a timer until its time comes.
   */
  async #retryRefused(signal: AbortSignal): Promise<void> {
    for (;;) {
      await sleep(this.#options.retryIntervalMs, signal);
      if (signal.aborted) return;
      this.#reloader.retryPending();
    }
  }
}
