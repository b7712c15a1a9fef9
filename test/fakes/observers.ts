/**
 * Issuance observers and gates for tests: one that records every event, one that throws, and a
 * gate that refuses when told.
 */
import type { MeshCaError } from '../../src/errors.js';
import type { IssuanceEvent, IssuanceGate, IssuanceObserver } from '../../src/events/index.js';

/** Keeps every event it sees. */
export class RecordingObserver implements IssuanceObserver {
  readonly name: string;
  readonly events: IssuanceEvent[] = [];

  constructor(name = 'recorder') {
    this.name = name;
  }

  observe(event: IssuanceEvent): void {
    this.events.push(event);
  }

  /** The one event seen; fails the test when there is not exactly one. */
  only(): IssuanceEvent {
    expect(this.events).toHaveLength(1);
    return this.events[0]!;
  }
}

/** Throws on every event (an observer bug). */
export class ThrowingObserver implements IssuanceObserver {
  readonly name = 'throwing';
  calls = 0;

  observe(): void {
    this.calls++;
    throw new Error('observer bug');
  }
}

/** Admits, or refuses with {@link refusal}; counts its checks. */
export class FakeGate implements IssuanceGate {
  readonly name: string;
  refusal: MeshCaError | undefined;
  checks = 0;

  constructor(name = 'gate') {
    this.name = name;
  }

  admit(): MeshCaError | undefined {
    this.checks++;
    return this.refusal;
  }
}
