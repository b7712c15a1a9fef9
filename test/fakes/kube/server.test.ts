/**
 * The fake API server speaks what the real one does for the calls meshca makes, through the real
 * clients: our KubeClient, client-node's typed API, and client-node's Watch.
 */
import * as k8s from '@kubernetes/client-node';
import { KubeApiError, apiStatus, type KubeClient } from '../../../src/kube/index.js';
import { eventually } from '../../support/kube.js';
import { FakeKubeApiServer } from './server.js';

describe('FakeKubeApiServer', () => {
  let server: FakeKubeApiServer;
  let client: KubeClient;
  const signal = (): AbortSignal => AbortSignal.timeout(5000);

  beforeEach(async () => {
    server = await FakeKubeApiServer.start();
    client = server.client();
    server.store.create('namespaces', { metadata: { name: 'ns' } });
  });
  afterEach(async () => {
    await server.close();
  });

  it('answers /version over TLS trusted through the kubeconfig', async () => {
    const version = (await client.requestJson('GET', '/version', undefined, signal())) as {
      gitVersion: string;
    };
    expect(version.gitVersion).toMatch(/^v1\./);
    expect(server.requests).toEqual([expect.objectContaining({ method: 'GET', path: '/version' })]);
  });

  it('refuses a request without the bearer token with 401', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    const user = kc.getCurrentUser();
    if (user === null) throw new Error('no user');
    (user as { token?: string }).token = 'wrong';
    const api = kc.makeApiClient(k8s.CoreV1Api);
    await expect(api.listNamespace()).rejects.toMatchObject({ code: 401 });
  });

  it('creates, reads, updates with resourceVersion checks, and deletes through the typed API', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const created = await api.createNamespacedConfigMap({
      namespace: 'ns',
      body: { metadata: { name: 'cm' }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toBeTruthy();
    const version = created.metadata?.resourceVersion ?? '';
    await expect(
      api.createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'cm' } } }),
    ).rejects.toMatchObject({ code: 409 });
    const updated = await api.replaceNamespacedConfigMap({
      name: 'cm',
      namespace: 'ns',
      body: { metadata: { name: 'cm', resourceVersion: version }, data: { a: '2' } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(version));
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
    // The old version is stale now.
    await expect(
      api.replaceNamespacedConfigMap({
        name: 'cm',
        namespace: 'ns',
        body: { metadata: { name: 'cm', resourceVersion: version }, data: { a: '3' } },
      }),
    ).rejects.toMatchObject({ code: 409 });
    expect((await api.readNamespacedConfigMap({ name: 'cm', namespace: 'ns' })).data).toEqual({
      a: '2',
    });
    await api.deleteNamespacedConfigMap({ name: 'cm', namespace: 'ns' });
    await expect(
      api.readNamespacedConfigMap({ name: 'cm', namespace: 'ns' }),
    ).rejects.toMatchObject({ code: 404 });
  });

  it('treats an update that changes nothing as a no-op', () => {
    const created = server.store.create('configmaps', {
      metadata: { namespace: 'ns', name: 'cm', labels: { a: '1', b: '2' } },
      data: { x: 'y' },
    });
    const events: string[] = [];
    server.store.subscribe((event) => events.push(event.type));
    const same = server.store.update('configmaps', {
      data: { x: 'y' },
      metadata: { labels: { b: '2', a: '1' }, name: 'cm', namespace: 'ns' },
    });
    expect(same.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(events).toEqual([]);
  });

  it.each([
    ['a missing namespace', 'nowhere', 404, /namespaces "nowhere" not found/],
    ['a terminating namespace', 'ns', 403, /being terminated/],
  ])('refuses to create in %s', async (_name, namespace, code, message) => {
    server.store.delete('namespaces', undefined, 'ns');
    const error = await client
      .requestJson(
        'POST',
        `/api/v1/namespaces/${namespace}/configmaps`,
        { metadata: { name: 'x' } },
        signal(),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(KubeApiError);
    expect(apiStatus(error)).toBe(code);
    expect((error as Error).message).toMatch(message);
  });

  it('pages a list with limit and continue, consistently at the first page version', async () => {
    for (let i = 0; i < 5; i++) {
      server.store.create('configmaps', { metadata: { namespace: 'ns', name: `cm-${i}` } });
    }
    interface Page {
      items: k8s.V1ConfigMap[];
      metadata: { continue?: string; resourceVersion: string };
    }
    const first = (await client.requestJson(
      'GET',
      '/api/v1/configmaps?limit=2',
      undefined,
      signal(),
    )) as Page;
    expect(first.items.map((item) => item.metadata?.name)).toEqual(['cm-0', 'cm-1']);
    // A change after the first page does not show in the next ones.
    server.store.create('configmaps', { metadata: { namespace: 'ns', name: 'cm-9' } });
    const second = (await client.requestJson(
      'GET',
      `/api/v1/configmaps?limit=2&continue=${first.metadata.continue ?? ''}`,
      undefined,
      signal(),
    )) as Page;
    const third = (await client.requestJson(
      'GET',
      `/api/v1/configmaps?limit=2&continue=${second.metadata.continue ?? ''}`,
      undefined,
      signal(),
    )) as Page;
    expect([...second.items, ...third.items].map((item) => item.metadata?.name)).toEqual([
      'cm-2',
      'cm-3',
      'cm-4',
    ]);
    expect(third.metadata.continue).toBeUndefined();
    expect(third.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  });

  it('answers 410 for a continue token older than the compacted version', async () => {
    for (let i = 0; i < 3; i++) {
      server.store.create('configmaps', { metadata: { namespace: 'ns', name: `cm-${i}` } });
    }
    const first = (await client.requestJson(
      'GET',
      '/api/v1/configmaps?limit=1',
      undefined,
      signal(),
    )) as { metadata: { continue: string } };
    server.store.create('configmaps', { metadata: { namespace: 'ns', name: 'later' } });
    server.store.compact();
    const error = await client
      .requestJson(
        'GET',
        `/api/v1/configmaps?continue=${first.metadata.continue}`,
        undefined,
        signal(),
      )
      .catch((e: unknown) => e);
    expect(apiStatus(error)).toBe(410);
  });

  it.each([
    ['fieldSelector', 'fieldSelector=metadata.name%3Dkeep', ['keep']],
    ['a != fieldSelector', 'fieldSelector=metadata.name!%3Dkeep', ['other']],
    ['labelSelector', 'labelSelector=app%3Dx', ['other']],
  ])('filters a list by %s', async (_name, query, names) => {
    server.store.create('configmaps', { metadata: { namespace: 'ns', name: 'keep' } });
    server.store.create('configmaps', {
      metadata: { namespace: 'ns', name: 'other', labels: { app: 'x' } },
    });
    const list = (await client.requestJson(
      'GET',
      `/api/v1/namespaces/ns/configmaps?${query}`,
      undefined,
      signal(),
    )) as { items: k8s.V1ConfigMap[] };
    expect(list.items.map((item) => item.metadata?.name)).toEqual(names);
  });

  describe('watch through client-node', () => {
    interface Seen {
      type: string;
      name: string | undefined;
      resourceVersion: string | undefined;
    }
    async function watch(
      query: Record<string, string | boolean | number>,
    ): Promise<{ events: Seen[]; done: Promise<unknown>; stop: () => void }> {
      const events: Seen[] = [];
      let finish: (error: unknown) => void = () => undefined;
      const done = new Promise((resolve) => {
        finish = resolve;
      });
      const controller = await new k8s.Watch(client.kubeConfig).watch(
        '/api/v1/namespaces/ns/configmaps',
        query,
        (type: string, object: k8s.V1ConfigMap & { code?: number }) => {
          events.push({
            type,
            name: object.metadata?.name ?? String(object.code),
            resourceVersion: object.metadata?.resourceVersion,
          });
        },
        (error: unknown) => {
          finish(error ?? 'ended');
        },
      );
      return {
        events,
        done,
        stop: () => {
          controller.abort();
        },
      };
    }

    it('replays after a resourceVersion, follows changes, and reports selection changes', async () => {
      const start = String(server.store.resourceVersion);
      server.store.create('configmaps', {
        metadata: { namespace: 'ns', name: 'a', labels: { app: 'x' } },
      });
      const w = await watch({ resourceVersion: start, labelSelector: 'app=x' });
      const a = server.store.get('configmaps', 'ns', 'a')!;
      server.store.update('configmaps', { ...a, metadata: { ...a.metadata, labels: {} } });
      server.store.create('configmaps', { metadata: { namespace: 'ns', name: 'unselected' } });
      server.store.create('configmaps', {
        metadata: { namespace: 'ns', name: 'b', labels: { app: 'x' } },
      });
      await eventually('three events', () => (w.events.length >= 3 ? true : undefined));
      expect(w.events.map((event) => `${event.type} ${event.name ?? ''}`)).toEqual([
        'ADDED a',
        'DELETED a',
        'ADDED b',
      ]);
      w.stop();
      await w.done;
      await eventually('the watch closed', () => (server.openWatches === 0 ? true : undefined));
    });

    it('starts with the current objects when no resourceVersion is given', async () => {
      server.store.create('configmaps', { metadata: { namespace: 'ns', name: 'a' } });
      const w = await watch({});
      await eventually('one event', () => (w.events.length === 1 ? true : undefined));
      expect(w.events[0]).toMatchObject({ type: 'ADDED', name: 'a' });
      w.stop();
    });

    it('sends an ERROR 410 event for a compacted resourceVersion, then ends', async () => {
      const old = String(server.store.resourceVersion);
      server.store.create('configmaps', { metadata: { namespace: 'ns', name: 'a' } });
      server.store.compact();
      const w = await watch({ resourceVersion: old });
      expect(await w.done).toBe('ended');
      expect(w.events).toEqual([{ type: 'ERROR', name: '410', resourceVersion: undefined }]);
    });

    it('sends bookmarks only when allowed, and ends at timeoutSeconds', async () => {
      const plain = await watch({ resourceVersion: String(server.store.resourceVersion) });
      const withBookmarks = await watch({
        resourceVersion: String(server.store.resourceVersion),
        allowWatchBookmarks: true,
        timeoutSeconds: 1,
      });
      await eventually('two watches', () => (server.openWatches === 2 ? true : undefined));
      server.bookmark();
      await eventually('a bookmark', () => (withBookmarks.events.length === 1 ? true : undefined));
      expect(withBookmarks.events[0]).toMatchObject({
        type: 'BOOKMARK',
        resourceVersion: String(server.store.resourceVersion),
      });
      expect(await withBookmarks.done).toBe('ended');
      expect(plain.events).toEqual([]);
      plain.stop();
    });

    it('ends or breaks every watch on demand, and fails a watch with an injected status', async () => {
      const ended = await watch({ resourceVersion: String(server.store.resourceVersion) });
      await eventually('open', () => (server.openWatches === 1 ? true : undefined));
      server.endWatches();
      expect(await ended.done).toBe('ended');
      const dropped = await watch({ resourceVersion: String(server.store.resourceVersion) });
      await eventually('open', () => (server.openWatches === 1 ? true : undefined));
      server.dropWatches();
      // A reset reaches the watcher as an error, unlike a clean end.
      expect(await dropped.done).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
      server.fail({ watch: true, status: 500, times: 1 });
      const failed = await watch({});
      expect(await failed.done).toMatchObject({ statusCode: 500 });
    });
  });

  it('holds requests while hung and answers them on resume', async () => {
    server.hang();
    const pending = client.requestJson('GET', '/version', undefined, signal());
    await eventually('arrived', () => (server.requests.length === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.requests[0]?.status).toBeUndefined();
    server.resume();
    await expect(pending).resolves.toMatchObject({ major: '1' });
  });

  it('injects failures a given number of times and counts requests', async () => {
    server.fail({ method: 'GET', path: '/version', status: 503, times: 2 });
    const outcomes: (number | undefined)[] = [];
    for (let i = 0; i < 3; i++) {
      outcomes.push(
        await client.requestJson('GET', '/version', undefined, signal()).then(
          () => 200,
          (error: unknown) => apiStatus(error),
        ),
      );
    }
    expect(outcomes).toEqual([503, 503, 200]);
    expect(server.requestsMatching({ path: '/version' }).map((r) => r.status)).toEqual([
      503, 503, 200,
    ]);
  });
});
