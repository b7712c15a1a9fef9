/**
 * ApiReachability against the fake API server: not ready before the first answer, ready while
 * `/version` answers, unready after `unreachableAfterMs` of silence, ready again once it answers.
 */
import { ApiReachability } from '../../src/kube/index.js';
import { FakeKubeApiServer } from '../fakes/index.js';
import { eventually } from '../support/kube.js';
import { memoryLogger } from '../support/server.js';

describe('ApiReachability', () => {
  let server: FakeKubeApiServer;
  let probe: ApiReachability;

  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
    probe = new ApiReachability(
      server.client(),
      { unreachableAfterMs: 400, probeIntervalMs: 50, probeTimeoutMs: 100 },
      memoryLogger().logger,
    );
  });
  afterEach(async () => {
    server.resume();
    await probe.close();
    await server.close();
  });

  const reason = (): string | undefined => probe.readiness()[0]?.check();

  it('follows the API server through an outage', async () => {
    expect(reason()).toBe(`API server ${server.url} not reached yet`);
    expect(probe.silenceMs).toBe(Infinity);
    await probe.start(new AbortController().signal);
    await eventually('reached', () => (reason() === undefined ? true : undefined));
    server.hang();
    await eventually('unreachable', () => reason(), 3000);
    expect(reason()).toMatch(new RegExp(`^API server ${server.url} unreachable for \\d+s$`));
    server.resume();
    await eventually('reached again', () => (reason() === undefined ? true : undefined));
    expect(server.requestsMatching({ path: '/version' }).length).toBeGreaterThan(3);
  });

  it('counts an error answer as unreachable', async () => {
    server.fail({ path: '/version', status: 503 });
    await probe.start(new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reason()).toMatch(/not reached yet/);
  });

  it('stops probing on close', async () => {
    await probe.start(new AbortController().signal);
    await eventually('reached', () => (reason() === undefined ? true : undefined));
    await probe.close();
    const count = server.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.requests).toHaveLength(count);
  });
});
