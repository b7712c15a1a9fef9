/**
 * A policy kept in a ConfigMap that meshca watches (the `PolicyDocumentReader` port of
 * `policy/`): the document under one key (default `policy.yaml`), its detached signature under
 * `<key>.jws`. `data` holds text; `binaryData` is read too, so that a document whose exact bytes
 * are not UTF-8-clean still verifies. A watch of that single ConfigMap (a `metadata.name` field
 * selector, so RBAC can grant it by name) wakes the policy source on every change.
 *
 * @module
 */
import type { Logger } from '../logger.js';
import type { PolicyBytes, PolicyDocumentReader } from '../policy/index.js';
import type { KubeClient } from './client.js';
import { Informer, type RawObject } from './informer.js';

/** Options of {@link KubeConfigMapPolicyReader}. */
export interface KubeConfigMapPolicyReaderOptions {
  readonly namespace: string;
  readonly name: string;
  /** The key of the document; its signature is `<key>.jws`. Default `policy.yaml`. */
  readonly key?: string;
  readonly requestTimeoutMs: number;
}

interface RawConfigMap extends RawObject {
  readonly data?: Readonly<Record<string, string>>;
  readonly binaryData?: Readonly<Record<string, string>>;
}

interface Entry {
  readonly document: Uint8Array | undefined;
  readonly signature: string | undefined;
}

/** Reads a policy from a watched ConfigMap. */
export class KubeConfigMapPolicyReader implements PolicyDocumentReader {
  readonly description: string;
  readonly #informer: Informer<Entry>;
  readonly #listeners = new Set<() => void>();
  #controller: AbortController | undefined;

  constructor(client: KubeClient, options: KubeConfigMapPolicyReaderOptions, logger: Logger) {
    const key = options.key ?? 'policy.yaml';
    this.description = `ConfigMap ${options.namespace}/${options.name} key ${key}`;
    this.#informer = new Informer<Entry>(
      client,
      {
        name: `policy-configmap-${options.name}`,
        path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`,
        fieldSelector: `metadata.name=${options.name}`,
        resyncMs: 0,
        requestTimeoutMs: options.requestTimeoutMs,
        transform: (raw) => entryOf(raw, key),
      },
      logger,
    );
    this.#informer.on(() => {
      for (const listener of this.#listeners) listener();
    });
  }

  /** Starts the watch and waits for its first list. */
  async start(signal: AbortSignal): Promise<void> {
    this.#controller = new AbortController();
    const watchSignal = AbortSignal.any([signal, this.#controller.signal]);
    await this.#informer.start(watchSignal);
    await this.#informer.waitForSync(watchSignal);
  }

  /** Stops the watch and waits for its loops. */
  async close(): Promise<void> {
    this.#controller?.abort();
    await this.#informer.close();
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @throws `Error` before the watch has loaded (the source treats it as unreadable). */
  read(): Promise<PolicyBytes | undefined> {
    if (!this.#informer.synced) {
      return Promise.reject(new Error(`${this.description} is not loaded yet`));
    }
    const [entry] = this.#informer.list();
    if (entry?.document === undefined) return Promise.resolve(undefined);
    return Promise.resolve({
      document: entry.document,
      signature: entry.signature,
      origin: this.description,
      signatureOrigin: `${this.description}.jws`,
    });
  }
}

function entryOf(raw: RawConfigMap, key: string): Entry {
  const signatureKey = `${key}.jws`;
  const text = raw.data?.[key];
  const binary = raw.binaryData?.[key];
  const document =
    text !== undefined
      ? Buffer.from(text, 'utf8')
      : binary !== undefined
        ? Buffer.from(binary, 'base64')
        : undefined;
  const signature =
    raw.data?.[signatureKey] ??
    (raw.binaryData?.[signatureKey] === undefined
      ? undefined
      : Buffer.from(raw.binaryData[signatureKey], 'base64').toString('utf8'));
  return { document, signature };
}
