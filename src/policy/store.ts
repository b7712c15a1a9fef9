/**
 * The policies in force: one per layer, replaced whole by their sources, read by every decision
 * (a plain field read: a decision never waits for a reload, and sees one consistent version of
 * each layer).
 *
 * @module
 */
import type { CompiledPolicy } from './compile.js';
import type { PolicyLayer, PolicySnapshot } from './evaluate.js';
import { objectKindKey, type ObjectKind } from './facts.js';

/** Called after a layer's policy changed. */
export type PolicyChangeListener = (snapshot: PolicySnapshot, layer: PolicyLayer) => void;

/** Holds the policy in force of each layer. */
export class PolicyStore {
  #snapshot: PolicySnapshot = { central: undefined, local: undefined };
  readonly #listeners = new Set<PolicyChangeListener>();

  /** Both layers, as of now. */
  snapshot(): PolicySnapshot {
    return this.#snapshot;
  }

  /** Puts `policy` in force for `layer` and tells the listeners. */
  install(layer: PolicyLayer, policy: CompiledPolicy): void {
    this.#snapshot = { ...this.#snapshot, [layer]: policy };
    for (const listener of this.#listeners) listener(this.#snapshot, layer);
  }

  /** Registers a listener; returns its removal. */
  onChange(listener: PolicyChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every kind the policies in force require, once each. */
  requiredKinds(): ObjectKind[] {
    const kinds = new Map<string, ObjectKind>();
    for (const policy of [this.#snapshot.central, this.#snapshot.local]) {
      for (const kind of policy?.requiredKinds ?? []) kinds.set(objectKindKey(kind), kind);
    }
    return [...kinds.values()];
  }
}
