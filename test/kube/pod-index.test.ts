/**
 * PodIndex against the fake API server: unfinished pods only, indexed by identity and node, kept
 * current as pods move, finish or go.
 */
import { PodIndex } from '../../src/kube/index.js';
import { FakeKubeApiServer, type FakeObject } from '../fakes/index.js';
import { eventually } from '../support/kube.js';
import { memoryLogger } from '../support/server.js';

describe('PodIndex', () => {
  let server: FakeKubeApiServer;
  let index: PodIndex;

  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
    server.store.create('namespaces', { metadata: { name: 'shop' } });
    index = new PodIndex(server.client(), { requestTimeoutMs: 2000 }, memoryLogger().logger);
  });
  afterEach(async () => {
    await index.close();
    await server.close();
  });

  function pod(
    name: string,
    serviceAccount: string,
    nodeName: string,
    phase = 'Running',
  ): FakeObject {
    return server.store.create('pods', {
      metadata: { namespace: 'shop', name },
      spec: { serviceAccountName: serviceAccount, nodeName },
      status: { phase },
    });
  }

  function change(name: string, edit: (pod: FakeObject) => FakeObject): void {
    server.store.update('pods', edit(server.store.get('pods', 'shop', name)!));
  }

  it('is not ready until the first list is in', async () => {
    server.hang();
    await index.start(new AbortController().signal);
    expect(index.readiness().map((check) => [check.name, check.check()])).toEqual([
      ['pods', 'pod index not loaded'],
    ]);
    server.resume();
    await index.waitForSync(AbortSignal.timeout(5000));
    expect(index.readiness()[0]?.check()).toBeUndefined();
  });

  it('indexes unfinished pods by service account and node, and follows them', async () => {
    const cart = pod('cart-1', 'cart', 'node-a');
    pod('cart-2', 'cart', 'node-a');
    pod('done', 'cart', 'node-b', 'Succeeded');
    await index.start(new AbortController().signal);
    await index.waitForSync(AbortSignal.timeout(5000));
    // Finished pods are not even listed.
    expect(server.requestsMatching({ path: '/api/v1/pods' })[0]?.query['fieldSelector']).toBe(
      'status.phase!=Succeeded,status.phase!=Failed',
    );
    expect(index.pod('shop', 'done')).toBeUndefined();
    expect(index.pod('shop', 'cart-1')).toEqual({
      namespace: 'shop',
      name: 'cart-1',
      uid: cart.metadata?.uid,
      serviceAccount: 'cart',
      nodeName: 'node-a',
      phase: 'Running',
      terminating: false,
    });
    expect(
      index
        .podsOnNode('shop', 'cart', 'node-a')
        .map((p) => p.name)
        .sort(),
    ).toEqual(['cart-1', 'cart-2']);
    expect(index.hasPodOnNode('shop', 'cart', 'node-b')).toBe(false);

    // cart-2 finishes (it leaves the watch's selection), cart-1 goes.
    change('cart-2', (p) => ({ ...p, status: { phase: 'Failed' } }));
    server.store.delete('pods', 'shop', 'cart-1');
    await eventually('both gone', () =>
      index.hasPodOnNode('shop', 'cart', 'node-a') ? undefined : true,
    );
    // A pending pod without a node is known but on no node; scheduling puts it on one.
    pod('new', 'cart', '', 'Pending');
    await eventually('known', () => index.pod('shop', 'new'));
    expect(index.hasPodOnNode('shop', 'cart', '')).toBe(false);
    change('new', (p) => ({ ...p, spec: { serviceAccountName: 'cart', nodeName: 'node-b' } }));
    await eventually('scheduled', () =>
      index.hasPodOnNode('shop', 'cart', 'node-b') ? true : undefined,
    );
  });
});
