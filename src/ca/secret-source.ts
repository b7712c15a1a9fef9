/**
 * CA material from a Kubernetes Secret, watched through the API: Istio's `cacerts` layout
 * (`ca-cert.pem`, `ca-key.pem`, `cert-chain.pem`, `root-cert.pem`) or a `kubernetes.io/tls`-style
 * Secret (`tls.crt` = signing certificate, optionally followed by its chain, `tls.key`, `ca.crt` =
 * roots), as istiod accepts both (ISTIO-CONTRACT.md §5.1). Only that one Secret is watched
 * (field selector on its name), so meshca needs no access to other Secrets.
 *
 * @module
 */
import { Informer, type KubeClient, type RawObject } from '../kube/index.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { CaMaterialError, type CaMaterialSource } from './material.js';

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

/** Watches one Secret and reports its material. */
export class SecretCaSource {
  readonly #informer: Informer<RawSecret>;
  readonly #logger: Logger;
  readonly #name: string;
  readonly #namespace: string;

  constructor(
    client: KubeClient,
    target: { readonly namespace: string; readonly name: string },
    options: { readonly requestTimeoutMs: number },
    logger: Logger,
  ) {
    this.#name = target.name;
    this.#namespace = target.namespace;
    this.#logger = logger;
    this.#informer = new Informer<RawSecret>(
      client,
      {
        name: 'ca-secret',
        path: `/api/v1/namespaces/${target.namespace}/secrets`,
        fieldSelector: `metadata.name=${target.name}`,
        resyncMs: 0,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: (raw) => raw,
      },
      logger,
    );
  }

  /** `namespace/name`, for logs. */
  get description(): string {
    return `secret ${this.#namespace}/${this.#name}`;
  }

  /**
   * Starts watching, calls `onChange` for every version, and resolves with the first.
   *
   * @throws {@link CaMaterialError} when the Secret does not exist once the first list is in.
   */
  async start(
    signal: AbortSignal,
    onChange: (source: CaMaterialSource) => void,
  ): Promise<CaMaterialSource> {
    this.#informer.on((event, secret) => {
      if (event === 'delete') {
        this.#logger.error(
          { secret: this.description },
          'CA Secret deleted; keeping the current material',
        );
        return;
      }
      let source: CaMaterialSource;
      try {
        source = caSourceFromSecret(secret, this.description);
      } catch (error) {
        this.#logger.error(
          { err: errorMessage(error) },
          'CA Secret unusable; keeping the current material',
        );
        return;
      }
      onChange(source);
    });
    this.#informer.start(signal);
    await this.#informer.waitForSync(signal);
    const secret = this.#informer.get(`${this.#namespace}/${this.#name}`);
    if (secret === undefined) throw new CaMaterialError(`${this.description} not found`);
    return caSourceFromSecret(secret, this.description);
  }
}
