/**
 * ApiReachability against the fake API server: unreachable before the first answer, reachable
 * while `/version` answers, unreachable after `unreachableAfterMs` of silence, reachable again
 * once it answers — told to its listener after every probe, logged on each change, and reported
 * as an informational readiness check (never one that takes the replica out of its Service).
 */
import { ApiReachability, type ApiReachabilityOptions } from '../../src/kube/index.js';
import { FakeKubeApiServer } from '../fakes/index.js';
import { eventually } from '../support/kube.js';
import { memoryLogger } from '../support/server.js';

const OPTIONS: ApiReachabilityOptions = {
  unreachableAfterMs: 400,
  probeIntervalMs: 50,
  probeTimeoutMs: 100,
};

describe('ApiReachability', () => {
  let server: FakeKubeApiServer;
  let probe: ApiReachability | undefined;

  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
  });
  afterEach(async () => {
    server.resume();
    await probe?.close();
    probe = undefined;
    await server.close();
  });

  function setup(clusterId?: string) {
    const { logger, lines } = memoryLogger();
    const states: boolean[] = [];
    probe = new ApiReachability(server.client(), OPTIONS, {
      logger,
      onChange: (reachable) => states.push(reachable),
      ...(clusterId === undefined ? {} : { clusterId }),
    });
    const check = (): {
      name: string;
      severity: string | undefined;
      reason: string | undefined;
    } => {
      const [only] = probe!.readiness();
      return { name: only!.name, severity: only!.severity, reason: only!.check() };
    };
    return {
      probe,
      states,
      check,
      /** The distinct states the listener saw, in order. */
      changes: () => states.filter((state, i) => i === 0 || states[i - 1] !== state),
      logs: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>),
    };
  }

  it('follows the API server through an outage', async () => {
    const { probe: p, states, check, changes, logs } = setup();
    expect(check()).toEqual({
      name: 'kubernetes',
      severity: 'informational',
      reason: `API server ${server.url} not reached yet`,
    });
    expect(p.silenceMs).toBe(Infinity);
    expect(p.reachable).toBe(false);
    await p.start(new AbortController().signal);
    await eventually('reached', () => (p.reachable ? true : undefined));
    expect(check().reason).toBeUndefined();
    server.hang();
    // Told after the probe that finds the silence too long.
    await eventually('unreachable', () => (states.at(-1) === false ? true : undefined), 3000);
    expect(p.reachable).toBe(false);
    expect(check().reason).toMatch(new RegExp(`^API server ${server.url} unreachable for \\d+s$`));
    server.resume();
    await eventually('reached again', () => (p.reachable ? true : undefined));
    await eventually('told', () => (changes().length === 3 ? true : undefined));
    expect(changes()).toEqual([true, false, true]);
    const messages = logs().map((line) => line['msg']);
    expect(messages).toEqual([
      'API server reachable',
      'API server unreachable: cached identities are still served, new TokenReviews fail',
      'API server reachable',
    ]);
    expect(server.requestsMatching({ path: '/version' }).length).toBeGreaterThan(3);
  });

  it('names the check after a remote cluster', () => {
    const { check } = setup('west');
    expect(check().name).toBe('kubernetes:west');
  });

  it('counts an error answer as no answer', async () => {
    server.fail({ path: '/version', status: 503 });
    const { probe: p, states, check } = setup();
    await p.start(new AbortController().signal);
    await eventually('probed a few times', () => (states.length >= 3 ? true : undefined));
    expect(states.every((state) => !state)).toBe(true);
    expect(check().reason).toMatch(/not reached yet/);
  });

  it('stops probing on close', async () => {
    const { probe: p } = setup();
    await p.start(new AbortController().signal);
    await eventually('reached', () => (p.reachable ? true : undefined));
    await p.close();
    const count = server.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.requests).toHaveLength(count);
  });
});
