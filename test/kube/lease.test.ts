/**
 * LeaseElector against the fake API server: acquiring, renewing, losing to another holder,
 * stepping down when renewals fail past the deadline, 409 conflicts, two candidates on one Lease,
 * and releasing the Lease on close.
 */
import { systemClock } from '../../src/clock.js';
import { LeaseElector, type LeaderElectionOptions } from '../../src/kube/index.js';
import { FakeKubeApiServer, type FakeObject } from '../fakes/index.js';
import { eventually } from '../support/kube.js';
import { memoryLogger } from '../support/server.js';

const NAMESPACE = 'meshca';
const LEASE = 'meshca-leader';
const TIMING = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 150 };
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('LeaseElector', () => {
  let server: FakeKubeApiServer;
  const electors: LeaseElector[] = [];

  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
    server.store.create('namespaces', { metadata: { name: NAMESPACE } });
  });
  afterEach(async () => {
    server.resume();
    for (const elector of electors.splice(0)) await elector.close();
    await server.close();
  });

  function candidate(identity: string, timing: Partial<LeaderElectionOptions> = {}) {
    const { logger, lines } = memoryLogger();
    const elector = new LeaseElector(
      server.client(),
      { namespace: NAMESPACE, name: LEASE, identity, ...TIMING, ...timing },
      logger,
      systemClock,
    );
    electors.push(elector);
    const changes: boolean[] = [];
    elector.onChange((leading) => changes.push(leading));
    return {
      elector,
      changes,
      logs: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  }

  const lease = (): (FakeObject & { spec?: LeaseSpec }) | undefined =>
    server.store.get('leases', NAMESPACE, LEASE);
  const writes = (method: 'POST' | 'PUT') => server.requestsMatching({ method, path: '/leases' });

  /** Another replica holding the Lease, renewing every 100 ms until stopped. */
  function otherHolder(identity = 'other'): () => void {
    const now = (): string => new Date().toISOString().replace('Z', '000Z');
    server.store.create('leases', {
      metadata: { namespace: NAMESPACE, name: LEASE },
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: 1,
        acquireTime: now(),
        renewTime: now(),
        leaseTransitions: 3,
      },
    });
    const timer = setInterval(() => {
      const current = lease();
      if (current === undefined) return;
      server.store.update('leases', { ...current, spec: { ...current.spec, renewTime: now() } });
    }, 100);
    return () => {
      clearInterval(timer);
    };
  }

  it.each([
    ['renew deadline equal to the lease duration', { renewDeadlineMs: 1000 }],
    ['retry period equal to the renew deadline', { retryPeriodMs: 600 }],
    ['retry period longer than the renew deadline', { retryPeriodMs: 700 }],
  ])('refuses timing with a %s', (_name, timing) => {
    expect(
      () =>
        new LeaseElector(
          server.client(),
          { namespace: NAMESPACE, name: LEASE, identity: 'a', ...TIMING, ...timing },
          memoryLogger().logger,
          systemClock,
        ),
    ).toThrow(TypeError);
  });

  it('creates a missing Lease and leads', async () => {
    const { elector, changes } = candidate('replica-a');
    await elector.start(new AbortController().signal);
    await eventually('leading', () => (elector.leading ? true : undefined));
    expect(changes).toEqual([true]);
    expect(writes('POST')).toHaveLength(1);
    expect(lease()?.spec).toEqual({
      holderIdentity: 'replica-a',
      leaseDurationSeconds: 1,
      acquireTime: expect.stringMatching(MICRO_TIME) as unknown,
      renewTime: expect.stringMatching(MICRO_TIME) as unknown,
      leaseTransitions: 0,
    });
  });

  it('renews every retry period, keeping acquireTime and the transition count', async () => {
    const { elector, changes } = candidate('replica-a');
    await elector.start(new AbortController().signal);
    await eventually('leading', () => (elector.leading ? true : undefined));
    const acquired = lease()!.spec!;
    await sleep(4 * TIMING.retryPeriodMs);
    const renewed = lease()!.spec!;
    expect(writes('PUT').length).toBeGreaterThanOrEqual(2);
    expect(renewed.renewTime! > acquired.renewTime!).toBe(true);
    expect(renewed.acquireTime).toBe(acquired.acquireTime);
    expect(renewed.leaseTransitions).toBe(0);
    expect(changes).toEqual([true]);
  });

  it('waits while another replica renews, and takes over as a transition once it stops', async () => {
    const stop = otherHolder();
    const { elector, changes } = candidate('replica-a');
    await elector.start(new AbortController().signal);
    await sleep(1500);
    expect(elector.leading).toBe(false);
    expect(writes('PUT')).toHaveLength(0);
    expect(writes('POST')).toHaveLength(0);
    stop();
    const stoppedAt = performance.now();
    await eventually('leading', () => (elector.leading ? true : undefined));
    // It waits out one lease duration as seen on its own clock.
    expect(performance.now() - stoppedAt).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - 200);
    expect(lease()?.spec).toMatchObject({ holderIdentity: 'replica-a', leaseTransitions: 4 });
    expect(changes).toEqual([true]);
  });

  it('steps down when another replica holds the Lease', async () => {
    const { elector, changes, logs } = candidate('replica-a');
    await elector.start(new AbortController().signal);
    await eventually('leading', () => (elector.leading ? true : undefined));
    // Someone else writes the Lease as theirs (a split brain the API server settles).
    server.store.delete('leases', NAMESPACE, LEASE);
    const stop = otherHolder();
    await eventually('stepped down', () => (elector.leading ? undefined : true));
    stop();
    expect(changes).toEqual([true, false]);
    expect(logs()).toContainEqual(
      expect.objectContaining({ msg: 'another replica holds the lease; stepping down' }) as unknown,
    );
  });

  it.each([
    ['answers with errors', (s: FakeKubeApiServer) => s.fail({ path: '/leases', status: 500 })],
    [
      'stops answering',
      (s: FakeKubeApiServer) => {
        s.hang();
        return () => {
          s.resume();
        };
      },
    ],
  ])(
    'steps down when the API server %s past the renew deadline, and leads again once it is back',
    async (_name, outage) => {
      const { elector, changes, logs } = candidate('replica-a');
      await elector.start(new AbortController().signal);
      await eventually('leading', () => (elector.leading ? true : undefined));
      const end = outage(server);
      const began = performance.now();
      await eventually('stepped down', () => (elector.leading ? undefined : true));
      const after = performance.now() - began;
      expect(after).toBeGreaterThanOrEqual(TIMING.renewDeadlineMs - TIMING.retryPeriodMs);
      expect(after).toBeLessThan(TIMING.leaseDurationMs + 2 * TIMING.retryPeriodMs);
      expect(logs()).toContainEqual(
        expect.objectContaining({
          msg: 'could not renew the lease within the renew deadline; stepping down',
        }) as unknown,
      );
      end();
      await eventually('leading again', () => (elector.leading ? true : undefined));
      expect(changes).toEqual([true, false, true]);
    },
  );

  it('treats a 409 on renewal as a lost race, not a failure, and keeps leading', async () => {
    const { elector, changes, logs } = candidate('replica-a');
    await elector.start(new AbortController().signal);
    await eventually('leading', () => (elector.leading ? true : undefined));
    const puts = writes('PUT').length;
    server.fail({ method: 'PUT', path: '/leases', status: 409, times: 1 });
    await eventually('two more renewals', () =>
      writes('PUT').length >= puts + 2 ? true : undefined,
    );
    expect(writes('PUT').map((request) => request.status)).toContain(409);
    expect(logs().filter((line) => line['msg'] === 'lease update failed')).toEqual([]);
    expect(changes).toEqual([true]);
  });

  it('lets exactly one of two candidates lead, and hands over at once when it closes', async () => {
    const a = candidate('replica-a');
    const b = candidate('replica-b');
    await Promise.all([
      a.elector.start(new AbortController().signal),
      b.elector.start(new AbortController().signal),
    ]);
    await eventually('a leader', () => (a.elector.leading || b.elector.leading ? true : undefined));
    for (let i = 0; i < 60; i++) {
      expect(a.elector.leading && b.elector.leading).toBe(false);
      await sleep(20);
    }
    const [leader, follower] = a.elector.leading ? [a, b] : [b, a];
    expect(follower.changes).toEqual([]);
    const closing = performance.now();
    await leader.elector.close();
    expect(lease()?.spec?.holderIdentity).toBe('');
    await eventually('the other leads', () => (follower.elector.leading ? true : undefined));
    // Released, not expired: no need to wait out the lease duration.
    expect(performance.now() - closing).toBeLessThan(TIMING.leaseDurationMs);
    expect(lease()?.spec?.leaseTransitions).toBe(1);
  });

  it('on close, stops the writers first, then releases the Lease', async () => {
    const { elector } = candidate('replica-a');
    const order: string[] = [];
    elector.onChange((leading) => {
      order.push(`leading=${leading} (lease held by ${lease()?.spec?.holderIdentity ?? '?'})`);
    });
    await elector.start(new AbortController().signal);
    await eventually('leading', () => (elector.leading ? true : undefined));
    await elector.close();
    expect(order).toEqual([
      'leading=true (lease held by replica-a)',
      'leading=false (lease held by replica-a)',
    ]);
    expect(lease()?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    const count = server.requests.length;
    await sleep(3 * TIMING.retryPeriodMs);
    expect(server.requests).toHaveLength(count);
  });

  it('does not touch a Lease it does not hold when it closes', async () => {
    const stop = otherHolder();
    const { elector } = candidate('replica-a');
    await elector.start(new AbortController().signal);
    await sleep(3 * TIMING.retryPeriodMs);
    await elector.close();
    stop();
    expect(writes('PUT')).toHaveLength(0);
    expect(lease()?.spec?.holderIdentity).toBe('other');
  });

  it('creates the Lease again when it was deleted while leading', async () => {
    const { elector, changes } = candidate('replica-a');
    await elector.start(new AbortController().signal);
    await eventually('leading', () => (elector.leading ? true : undefined));
    server.store.delete('leases', NAMESPACE, LEASE);
    await eventually('recreated', () => (lease() ? true : undefined));
    expect(writes('POST')).toHaveLength(2);
    expect(changes).toEqual([true]);
  });
});
