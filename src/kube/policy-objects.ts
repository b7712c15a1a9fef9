/**
 * The objects the policies in force require (the `ObjectLookup` port of `policy/`): only the
 * kinds a policy names are watched, and only when the cluster serves them. For each kind, API
 * discovery (`GET /apis/<group>/<version>`) finds its resource; a served, namespaced kind gets a
 * watch of every namespace, reduced to name and labels and indexed by namespace; a kind the
 * cluster does not serve (its CRD not installed) is looked for again periodically, and until
 * then a rule that requires it refuses, saying why. Kinds no policy names any more stop being
 * watched.
 *
 * @module
 */
import { UnavailableError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type {
  ObjectFacts,
  ObjectKind,
  ObjectListing,
  ObjectLookup,
  RequiredKindsWatch,
} from '../policy/index.js';
import { BackgroundLoops, type Part, type ReadinessCheck } from '../runtime/index.js';
import { Backoff, sleep } from '../util/index.js';
import { apiStatus, type KubeClient } from './client.js';
import { Informer, type RawObject } from './informer.js';

/** Options of {@link KubeObjectLookup}. */
export interface KubeObjectLookupOptions {
  /** Timeout of a discovery request and of a list page. */
  readonly requestTimeoutMs: number;
  /** How often a kind the cluster does not serve is looked for again (a CRD installed later). */
  readonly rediscoverIntervalMs: number;
}

interface ObjectRecord extends ObjectFacts {
  readonly namespace: string;
}

type KindState =
  | { readonly phase: 'discovering' }
  | { readonly phase: 'unserved'; readonly reason: string }
  | {
      readonly phase: 'watching';
      readonly informer: Informer<ObjectRecord>;
      readonly byNamespace: Map<string, Map<string, ObjectFacts>>;
    };

interface KindWatch {
  readonly kind: ObjectKind;
  readonly controller: AbortController;
  state: KindState;
}

interface ApiResourceList {
  readonly resources?: readonly {
    readonly name?: string;
    readonly kind?: string;
    readonly namespaced?: boolean;
  }[];
}

/** Watches of the kinds the policies require, in one cluster. */
export class KubeObjectLookup implements ObjectLookup, RequiredKindsWatch, Part {
  readonly name = 'policy-objects';
  readonly #client: KubeClient;
  readonly #options: KubeObjectLookupOptions;
  readonly #logger: Logger;
  readonly #loops: BackgroundLoops;
  readonly #watches = new Map<string, KindWatch>();
  #wanted: readonly ObjectKind[] = [];
  #started = false;

  constructor(client: KubeClient, options: KubeObjectLookupOptions, logger: Logger) {
    this.#client = client;
    this.#options = options;
    this.#logger = logger.child({ part: this.name });
    this.#loops = new BackgroundLoops(this.#logger);
  }

  /** Starts watching the kinds asked for so far; resolves at once (kinds load in the background). */
  start(signal: AbortSignal): Promise<void> {
    this.#loops.link(signal);
    this.#started = true;
    this.#reconcile();
    this.#loops.run('rediscover', async (loopSignal) => {
      for (;;) {
        await sleep(this.#options.rediscoverIntervalMs, loopSignal);
        if (loopSignal.aborted) return;
        for (const watch of this.#watches.values()) {
          if (watch.state.phase === 'unserved') this.#discover(watch);
        }
      }
    });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const informers = [];
    for (const watch of this.#watches.values()) {
      watch.controller.abort();
      if (watch.state.phase === 'watching') informers.push(watch.state.informer);
    }
    this.#watches.clear();
    await this.#loops.close();
    // Every informer's loops end with its watch: wait for them too.
    await Promise.all(informers.map((informer) => informer.close()));
  }

  /** Watches exactly `kinds` from now on (called whenever the policies in force change). */
  watchKinds(kinds: readonly ObjectKind[]): void {
    this.#wanted = kinds;
    if (this.#started) this.#reconcile();
  }

  objects(kind: ObjectKind, namespace: string): Promise<ObjectListing> {
    const watch = this.#watches.get(objectKindKey(kind));
    const state = watch?.state;
    if (state?.phase === 'unserved') {
      return Promise.resolve({ served: false, reason: state.reason });
    }
    if (state?.phase !== 'watching' || !state.informer.synced) {
      return Promise.reject(
        new UnavailableError(
          'ERR_POLICY_UNAVAILABLE',
          `${kind.kind} (${kind.apiVersion}) objects are not loaded yet`,
        ),
      );
    }
    const objects = state.byNamespace.get(namespace);
    return Promise.resolve({
      served: true,
      objects: objects === undefined ? [] : [...objects.values()],
    });
  }

  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: this.name,
        severity: 'informational',
        check: () => {
          const problems: string[] = [];
          for (const watch of this.#watches.values()) {
            const what = `${watch.kind.kind} (${watch.kind.apiVersion})`;
            if (watch.state.phase === 'unserved') problems.push(watch.state.reason);
            else if (watch.state.phase === 'discovering') problems.push(`${what}: discovering`);
            else if (!watch.state.informer.synced) problems.push(`${what}: loading`);
          }
          return problems.length === 0 ? undefined : problems.join('; ');
        },
      },
    ];
  }

  #reconcile(): void {
    const wanted = new Map(this.#wanted.map((kind) => [objectKindKey(kind), kind]));
    for (const [key, watch] of this.#watches) {
      if (!wanted.has(key)) {
        watch.controller.abort();
        this.#watches.delete(key);
        this.#logger.info({ kind: key }, 'no policy requires this kind any more; watch stopped');
      }
    }
    for (const [key, kind] of wanted) {
      if (this.#watches.has(key)) continue;
      const controller = new AbortController();
      const watch: KindWatch = { kind, controller, state: { phase: 'discovering' } };
      this.#watches.set(key, watch);
      this.#discover(watch);
    }
  }

  /** Finds the kind's resource by API discovery, then watches it; retries transient failures. */
  #discover(watch: KindWatch): void {
    const signal = AbortSignal.any([watch.controller.signal, this.#loops.signal]);
    this.#loops.run(`discover ${objectKindKey(watch.kind)}`, async () => {
      const backoff = new Backoff(1000, 30_000);
      while (!signal.aborted) {
        try {
          watch.state = await this.#resolve(watch, signal);
          return;
        } catch (error) {
          const delay = backoff.next();
          this.#logger.warn(
            { kind: objectKindKey(watch.kind), err: errorMessage(error), retryInMs: delay },
            'API discovery failed; retrying',
          );
          await sleep(delay, signal);
        }
      }
    });
  }

  async #resolve(watch: KindWatch, signal: AbortSignal): Promise<KindState> {
    const { apiVersion, kind } = watch.kind;
    const core = !apiVersion.includes('/');
    const base = core ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
    let list: ApiResourceList;
    try {
      list = (await this.#client.requestJson(
        'GET',
        base,
        undefined,
        AbortSignal.any([signal, AbortSignal.timeout(this.#options.requestTimeoutMs)]),
      )) as ApiResourceList;
    } catch (error) {
      if (apiStatus(error) === 404) {
        return this.#unserved(
          watch,
          `the cluster does not serve ${apiVersion} (is the API or its CRD installed?)`,
        );
      }
      throw error;
    }
    const resource = list.resources?.find(
      (candidate) => candidate.kind === kind && candidate.name?.includes('/') === false,
    );
    if (resource?.name === undefined) {
      return this.#unserved(watch, `the cluster serves no ${kind} in ${apiVersion}`);
    }
    if (resource.namespaced !== true) {
      return this.#unserved(
        watch,
        `${kind} (${apiVersion}) is cluster-scoped; only namespaced kinds can be required`,
      );
    }
    const byNamespace = new Map<string, Map<string, ObjectFacts>>();
    const informer = new Informer<ObjectRecord>(
      this.#client,
      {
        name: `policy-${kind.toLowerCase()}`,
        path: `${base}/${resource.name}`,
        resyncMs: 0,
        requestTimeoutMs: this.#options.requestTimeoutMs,
        transform: (raw: RawObject) => ({
          namespace: raw.metadata?.namespace ?? '',
          name: raw.metadata?.name ?? '',
          labels: { ...(raw.metadata?.labels ?? {}) },
        }),
      },
      this.#logger,
    );
    informer.on((event, object) => {
      let objects = byNamespace.get(object.namespace);
      if (event === 'delete') {
        objects?.delete(object.name);
        if (objects?.size === 0) byNamespace.delete(object.namespace);
        return;
      }
      if (objects === undefined) {
        objects = new Map();
        byNamespace.set(object.namespace, objects);
      }
      objects.set(object.name, { name: object.name, labels: object.labels });
    });
    // Resolves at once: the informer's loops run until its watch is closed.
    void informer.start(signal);
    this.#logger.info(
      { kind: objectKindKey(watch.kind), resource: resource.name },
      'watching a required kind',
    );
    return { phase: 'watching', informer, byNamespace };
  }

  #unserved(watch: KindWatch, reason: string): KindState {
    if (watch.state.phase !== 'unserved') {
      this.#logger.warn(
        { kind: objectKindKey(watch.kind), reason },
        'a required kind is not served',
      );
    }
    return { phase: 'unserved', reason };
  }
}

/** `networking.k8s.io/v1/Ingress` (the same key as policy's `objectKindKey`). */
function objectKindKey(kind: ObjectKind): string {
  return `${kind.apiVersion}/${kind.kind}`;
}
