/**
 * Where a layer's policy comes from, and how a new version replaces the one in force: read (a
 * file, a watched ConfigMap), verify the signature when one is required (central), parse,
 * compile, install. A version that fails any step never replaces a working one: it is logged,
 * counted in `meshca_policy_reloads_total{layer,result}`, and shown in the readiness details
 * until a good version arrives. The first version must load, or meshca does not start: serving
 * without the policy it was given would be failing open.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Part, ReadinessCheck } from '../runtime/index.js';
import { BackgroundLoops } from '../runtime/index.js';
import { compilePolicy, type CompiledPolicy } from './compile.js';
import { PolicyLoadError, PolicyParseError, PolicySignatureError } from './errors.js';
import type { PolicyLayer } from './evaluate.js';
import { parsePolicyDocument } from './parse.js';
import type { PolicyMetricsSink, PolicyReloadResult } from './policy-metrics-sink.js';
import type { PolicySignatureVerifier } from './signature.js';
import type { PolicyStore } from './store.js';

/** The bytes of one version of a policy, as read. */
export interface PolicyBytes {
  readonly document: Uint8Array;
  /** The detached JWS, when there is one. */
  readonly signature: string | undefined;
  /** Where the document is: a path, or `ConfigMap ns/name key`. */
  readonly origin: string;
  /** Where its signature is (or would be). */
  readonly signatureOrigin: string;
}

/** A place a policy is read from (port: files here, ConfigMaps in `kube/`). */
export interface PolicyDocumentReader {
  /** For logs and messages. */
  readonly description: string;
  /**
   * The current version, or undefined when there is no document.
   *
   * @throws when it cannot be read now (the source keeps its policy and retries).
   */
  read(signal: AbortSignal): Promise<PolicyBytes | undefined>;
  /** For watching readers: resolves once {@link read} can answer. */
  start?(signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
  /** For watching readers: called when the content may have changed; returns the removal. */
  onChange?(listener: () => void): () => void;
}

/** Options of {@link PolicySource}. */
export interface PolicySourceOptions {
  readonly layer: PolicyLayer;
  readonly reader: PolicyDocumentReader;
  /** When set, every version must carry a signature that verifies (the central layer). */
  readonly verifier: PolicySignatureVerifier | undefined;
  readonly store: PolicyStore;
  /** How often the reader is polled (a watching reader also wakes the source at once). */
  readonly reloadIntervalMs: number;
  readonly metrics?: PolicyMetricsSink;
  readonly logger: Logger;
}

/** What one reload attempt did. */
export type ReloadOutcome = PolicyReloadResult | 'unchanged' | 'unreadable';

/** Keeps one layer's policy in force, reloading it as it changes. */
export class PolicySource implements Part {
  readonly name: string;
  readonly #options: PolicySourceOptions;
  readonly #logger: Logger;
  readonly #loops: BackgroundLoops;
  /** The version last looked at (document and signature), to act once per change. */
  #lastSeen: string | undefined;
  #inForce: { policy: CompiledPolicy; version: string; signedBy: string | undefined } | undefined;
  /** Why the newest version is not in force, while it is not. */
  #refusal: string | undefined;
  /** Why the source could not be read, while it cannot. */
  #readError: string | undefined;
  #wake: (() => void) | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: PolicySourceOptions) {
    if (!(options.reloadIntervalMs > 0)) throw new TypeError('reloadIntervalMs must be positive');
    this.#options = options;
    this.name = `policy-${options.layer}`;
    this.#logger = options.logger.child({ part: this.name });
    this.#loops = new BackgroundLoops(this.#logger);
  }

  /**
   * Loads the first version, then reloads in the background.
   *
   * @throws {@link PolicyLoadError} when the first version is missing, unreadable, unsigned (with
   * a verifier), badly signed or invalid.
   */
  async start(signal: AbortSignal): Promise<void> {
    const { reader, layer, reloadIntervalMs } = this.#options;
    this.#loops.link(signal);
    await reader.start?.(this.#loops.signal);
    const outcome = await this.reload(this.#loops.signal);
    if (this.#inForce === undefined) {
      throw new PolicyLoadError(
        `the ${layer} policy (${reader.description}) could not be loaded, so meshca will not start: ${
          this.#problem() ?? outcome
        }`,
      );
    }
    this.#unsubscribe = reader.onChange?.(() => this.#wake?.());
    this.#loops.run(this.name, async (loopSignal) => {
      for (;;) {
        await this.#sleep(reloadIntervalMs, loopSignal);
        if (loopSignal.aborted) return;
        await this.reload(loopSignal);
      }
    });
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#loops.close();
    await this.#options.reader.close?.();
  }

  /** The policy this source keeps in force, when one is. */
  get current(): CompiledPolicy | undefined {
    return this.#inForce?.policy;
  }

  /**
   * The key id whose signature the policy in force carries; undefined when signatures are not
   * checked (no signing keys, or the local layer).
   */
  get signedBy(): string | undefined {
    return this.#inForce?.signedBy;
  }

  readiness(): readonly ReadinessCheck[] {
    return [
      {
        name: this.name,
        // The replica goes on issuing under the last good version: informational only.
        severity: 'informational',
        check: () => this.#problem(),
      },
    ];
  }

  /** Reads the source once and acts on what changed. Never throws. */
  async reload(signal: AbortSignal): Promise<ReloadOutcome> {
    const { reader, layer } = this.#options;
    let bytes: Awaited<ReturnType<PolicyDocumentReader['read']>>;
    try {
      bytes = await reader.read(signal);
    } catch (error) {
      const problem = `${reader.description} could not be read: ${errorMessage(error)}`;
      if (problem !== this.#readError) {
        this.#logger.warn({ layer, err: errorMessage(error) }, 'policy unreadable');
      }
      this.#readError = problem;
      return 'unreadable';
    }
    this.#readError = undefined;
    const version =
      bytes === undefined
        ? 'missing'
        : `${createHash('sha256').update(bytes.document).digest('hex')}|${bytes.signature ?? ''}`;
    if (version === this.#lastSeen) return 'unchanged';
    this.#lastSeen = version;
    if (bytes === undefined) {
      return this.#refuse('rejected', `${reader.description}: the policy document does not exist`);
    }
    if (this.#inForce?.version === version) {
      // Back to the version in force after a refused one.
      this.#refusal = undefined;
      this.#options.metrics?.reload(layer, 'loaded');
      this.#logger.info(
        { layer, policy: this.#inForce.policy.name },
        'policy source back to the version in force',
      );
      return 'loaded';
    }
    return this.#load(bytes, version, signal);
  }

  async #load(bytes: PolicyBytes, version: string, signal: AbortSignal): Promise<ReloadOutcome> {
    const { verifier, layer, store, metrics } = this.#options;
    let signedBy: string | undefined;
    // The signature is checked before the document is parsed: nothing unauthenticated is read.
    if (verifier !== undefined) {
      if (bytes.signature === undefined) {
        return this.#refuse(
          'unsigned',
          `${bytes.origin} is not signed: policy signing keys are configured, so the ${layer} policy needs a detached JWS in ${bytes.signatureOrigin}`,
        );
      }
      try {
        signedBy = (await verifier.verify(bytes.document, bytes.signature)).kid;
      } catch (error) {
        if (error instanceof PolicySignatureError) {
          return this.#refuse(error.failure, `${bytes.signatureOrigin}: ${error.message}`);
        }
        throw error;
      }
    }
    if (signal.aborted) return 'unchanged';
    let policy: CompiledPolicy;
    try {
      policy = compilePolicy(parsePolicyDocument(bytes.document, bytes.origin));
    } catch (error) {
      if (error instanceof PolicyParseError) return this.#refuse('rejected', error.message);
      throw error;
    }
    this.#inForce = { policy, version, signedBy };
    this.#refusal = undefined;
    store.install(layer, policy);
    metrics?.reload(layer, 'loaded');
    metrics?.inForce(layer, policy);
    this.#logger.info(
      {
        layer,
        policy: policy.name,
        sha256: policy.sha256,
        origin: bytes.origin,
        rules: policy.rules.length,
        ...(signedBy === undefined ? {} : { signedBy }),
      },
      'policy in force',
    );
    return 'loaded';
  }

  #refuse(result: Exclude<PolicyReloadResult, 'loaded'>, reason: string): ReloadOutcome {
    const { layer, metrics } = this.#options;
    metrics?.reload(layer, result);
    this.#refusal = `${result}: ${reason}`;
    this.#logger.warn(
      {
        layer,
        result,
        reason,
        keeping: this.#inForce === undefined ? undefined : this.#inForce.policy.name,
        keepingSha256: this.#inForce?.policy.sha256,
      },
      'new policy version refused; the policy in force is kept',
    );
    return result;
  }

  /** What readiness shows: why the newest version is not in force (undefined when it is). */
  #problem(): string | undefined {
    const problem = this.#readError ?? this.#refusal;
    if (problem === undefined) return undefined;
    const current = this.#inForce?.policy;
    return current === undefined
      ? problem
      : `keeping ${current.name} (sha256 ${current.sha256.slice(0, 12)}); newest version refused: ${problem}`;
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }
}
