/**
 * Pod retirement: a replica retires at once the pods it issued to when they are deleted, never a
 * pod it knows nothing of; the sweep (by whoever is responsible for the database) retires the pods
 * of active certificates in the ledger that the pod watch no longer holds, leaving alone young
 * certificates and pods that still run (or were replaced under the same name).
 */
import { join } from 'node:path';
import { FixedClock } from '../../src/clock.js';
import type { InformerHandler } from '../../src/kube/index.js';
import { SqliteLedgerStore, type RetireInput } from '../../src/ledger/index.js';
import { PodRetirement, type PodWatch, type WatchedPod } from '../../src/lifecycle/index.js';
import { silentLogger } from '../../src/logger.js';
import { TestChain, event } from '../ledger/fixtures.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const MINUTE = 60_000;

/** A pod watch driven by the test. */
class FakeWatch implements PodWatch {
  readonly pods = new Map<string, WatchedPod>();
  readonly #handlers: InformerHandler<WatchedPod>[] = [];
  synced = true;

  on(handler: InformerHandler<WatchedPod>): void {
    this.#handlers.push(handler);
  }

  pod(namespace: string, name: string): WatchedPod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  waitForSync(): Promise<void> {
    return Promise.resolve();
  }

  add(pod: WatchedPod): void {
    this.pods.set(`${pod.namespace}/${pod.name}`, pod);
    for (const handler of this.#handlers) handler('add', pod, undefined);
  }

  delete(pod: WatchedPod): void {
    this.pods.delete(`${pod.namespace}/${pod.name}`);
    for (const handler of this.#handlers) handler('delete', pod, pod);
  }
}

const pod = (name: string, uid = `uid-${name}`): WatchedPod => ({ namespace: 'shop', name, uid });

describe('PodRetirement', () => {
  let watch: FakeWatch;
  let retired: RetireInput[];
  let clock: FixedClock;
  let store: SqliteLedgerStore;
  let notified: number;

  beforeEach(async () => {
    watch = new FakeWatch();
    retired = [];
    notified = 0;
    clock = new FixedClock(new Date('2026-03-01T12:00:00Z'));
    store = new SqliteLedgerStore({ path: join(tempDir(), 'ledger.db') }, clock);
    await store.open();
  });
  afterEach(async () => {
    await store.close();
  });

  function retirement(ownsDatabase = false): PodRetirement {
    return new PodRetirement(
      { ownsDatabase, sweepIntervalMs: 3_600_000, graceMs: MINUTE },
      {
        pods: new Map([['east', watch]]),
        recorder: { retire: (input) => retired.push(input) },
        ledger: store,
        clock,
        logger: silentLogger(),
        onRetired: () => {
          notified++;
        },
      },
    );
  }

  const retiredPods = (): string[] =>
    retired.map((input) => `${input.pod?.name}/${input.pod?.uid}`);

  it('retires at once the pods this replica issued to, and no others', () => {
    const subject = retirement();
    watch.add(pod('web-1'));
    watch.add(pod('web-2'));
    subject.observe(event({ namespace: 'shop', pod: { name: 'web-1', uid: 'uid-web-1' } }));
    subject.observe(
      event({ outcome: 'denied', denyRule: 'ns', pod: { name: 'web-2', uid: 'uid-web-2' } }),
    );
    watch.delete(pod('web-1'));
    watch.delete(pod('web-2'));
    expect(retired).toEqual([
      { pod: { namespace: 'shop', name: 'web-1', uid: 'uid-web-1' }, reason: 'pod-deleted' },
    ]);
    expect(notified).toBe(1);
    // Once only, however often the watch repeats the deletion (a relist).
    watch.delete(pod('web-1'));
    expect(retired).toHaveLength(1);
  });

  it("remembers the subject's pod of an impersonated request, not the node proxy's", () => {
    const subject = retirement();
    subject.observe(event({ impersonatedBy: 'ztunnel', pod: { name: 'web-1', uid: 'uid-web-1' } }));
    watch.delete({ namespace: 'istio-system', name: 'ztunnel-x', uid: 'uid-ztunnel' });
    expect(retired).toEqual([]);
    watch.delete(pod('web-1'));
    expect(retiredPods()).toEqual(['web-1/uid-web-1']);
  });

  describe('sweep', () => {
    const chain = new TestChain();
    async function issued(name: string, uid: string, minutesAgo: number): Promise<void> {
      await store.append([
        chain.issuance({
          namespace: 'shop',
          cluster: 'east',
          pod: { name, uid },
          timeMs: clock.now().getTime() - minutesAgo * MINUTE,
        }),
      ]);
    }

    it('retires pods of active certificates that are gone, leaves live and young ones alone', async () => {
      await issued('gone', 'uid-gone', 10);
      await issued('gone', 'uid-gone', 5); // a renewal: one retirement for the pod
      await issued('live', 'uid-live', 10);
      await issued('replaced', 'uid-old', 10);
      await issued('young', 'uid-young', 0.5);
      watch.add(pod('live'));
      watch.add(pod('replaced', 'uid-new'));
      const subject = retirement();
      expect(await subject.sweep(new AbortController().signal)).toBe(2);
      expect(retiredPods().sort()).toEqual(['gone/uid-gone', 'replaced/uid-old']);
    });

    it('looks only at the certificates of the clusters it watches', async () => {
      await store.append([
        chain.issuance({
          cluster: 'west',
          pod: { name: 'far', uid: 'uid-far' },
          timeMs: clock.now().getTime() - 10 * MINUTE,
        }),
      ]);
      expect(await retirement().sweep(new AbortController().signal)).toBe(0);
      expect(await store.identities(clock.now(), { cluster: 'west' })).toMatchObject({
        items: [{ podName: 'far', status: 'active' }],
      });
    });

    it('runs for a shared database only while leading, at once when leadership is gained', async () => {
      await issued('gone', 'uid-gone', 10);
      const subject = retirement(false);
      const controller = new AbortController();
      await subject.start(controller.signal);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(retired).toEqual([]);
      expect(subject.sweeping).toBe(false);
      subject.setLeading(true);
      await waitFor(() => retired.length === 1);
      expect(retiredPods()).toEqual(['gone/uid-gone']);
      await subject.close();
    });

    it('runs at start for a database of its own, leader or not', async () => {
      await issued('gone', 'uid-gone', 10);
      const subject = retirement(true);
      await subject.start(new AbortController().signal);
      await waitFor(() => retired.length === 1);
      expect(subject.sweeping).toBe(true);
      await subject.close();
    });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
