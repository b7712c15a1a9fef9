/**
 * The Event recorder against the real API server: Events land on the object (cluster-scoped
 * ones in `default`), a full queue drops and counts, posts are paced by the rate limit, a failed
 * post is retried by the next record, and Event names are valid and stable.
 */
import { systemClock } from '../../src/clock.js';
import { KubeClient, KubeEventRecorder, eventName } from '../../src/kube/index.js';
import type { KubeEventRecorderOptions } from '../../src/kube/index.js';
import { createLogger } from '../../src/logger.js';
import { testKubeconfig } from '../support/environment.js';
import { adminKubeConfig, createNamespace, describeKube, uniqueName } from '../support/kube.js';

const logger = createLogger({ level: 'silent' });

const OPTIONS: KubeEventRecorderOptions = {
  component: 'meshca-test',
  instance: 'replica-0',
  eventsPerSecond: 100,
  queueSize: 100,
  repeatAfterMs: 3600_000,
  rememberedKeys: 100,
  requestTimeoutMs: 10_000,
};

describe('eventName', () => {
  it.each([
    ['a short name', 'web', /^web\.[0-9a-f]{16}$/],
    ['a name at the length limit', 'a'.repeat(253), /^a{236}\.[0-9a-f]{16}$/],
    ['a name whose cut ends in a dot', `${'a'.repeat(235)}.bcd`, /^a{235}\.[0-9a-f]{16}$/],
  ])('%s', (_name, objectName, expected) => {
    const name = eventName(objectName, 'key');
    expect(name).toMatch(expected);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(eventName(objectName, 'key')).toBe(name);
    expect(eventName(objectName, 'other')).not.toBe(name);
  });
});

describeKube('KubeEventRecorder (real kube-apiserver)', () => {
  let client: KubeClient;
  let namespace: string;
  const stop = new AbortController();

  beforeAll(async () => {
    const path = testKubeconfig();
    if (path === undefined) throw new Error('no test kube-apiserver');
    client = new KubeClient({ connection: { mode: 'kubeconfig', path }, maxSockets: 4 });
    namespace = uniqueName('events');
    await createNamespace(adminKubeConfig(), namespace);
  });

  afterAll(async () => {
    stop.abort();
    await client.close();
  });

  async function events(where: string, component = OPTIONS.component) {
    const list = (await client.requestJson(
      'GET',
      `/api/v1/namespaces/${where}/events`,
      undefined,
      AbortSignal.timeout(10_000),
    )) as {
      items: {
        metadata: { name: string };
        involvedObject: { kind: string; name: string; namespace?: string; uid?: string };
        reason: string;
        message: string;
        type: string;
        count: number;
        source: { component: string; host: string };
        reportingInstance?: string;
      }[];
    };
    return list.items.filter((event) => event.source.component === component);
  }

  it('posts on namespaced objects in their namespace and on cluster-scoped ones in default', async () => {
    const recorder = new KubeEventRecorder(client, OPTIONS, { clock: systemClock, logger });
    await recorder.start(stop.signal);
    const clusterName = uniqueName('webhook');
    recorder.record({
      involvedObject: { apiVersion: 'v1', kind: 'Secret', namespace, name: 'ca', uid: 'uid-1' },
      type: 'Warning',
      reason: 'SelfSignedCA',
      message: 'a self-signed CA',
      key: 'k1',
    });
    recorder.record({
      involvedObject: {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        name: clusterName,
      },
      type: 'Normal',
      reason: 'CertificateExpiringSoon',
      message: 'soon',
      key: `k2-${clusterName}`,
    });
    await recorder.drained(stop.signal);
    await recorder.close();
    expect(recorder.stats()).toMatchObject({ created: 2, failed: 0 });
    const [secretEvent] = await events(namespace);
    expect(secretEvent).toMatchObject({
      metadata: { name: eventName('ca', 'k1') },
      involvedObject: { kind: 'Secret', name: 'ca', namespace, uid: 'uid-1' },
      reason: 'SelfSignedCA',
      type: 'Warning',
      count: 1,
      source: { component: 'meshca-test', host: 'replica-0' },
      reportingInstance: 'replica-0',
    });
    const clusterEvents = (await events('default')).filter(
      (event) => event.involvedObject.name === clusterName,
    );
    expect(clusterEvents).toHaveLength(1);
    expect(clusterEvents[0]?.involvedObject.namespace).toBeUndefined();
  });

  it('drops what does not fit in the queue, and counts it', () => {
    const recorder = new KubeEventRecorder(
      client,
      { ...OPTIONS, queueSize: 2 },
      { clock: systemClock, logger },
    );
    // Not started: nothing drains the queue.
    for (let i = 0; i < 5; i++) {
      recorder.record({
        involvedObject: { apiVersion: 'v1', kind: 'Secret', namespace, name: `s${i}` },
        type: 'Warning',
        reason: 'WeakKey',
        message: 'weak',
        key: `drop-${i}`,
      });
    }
    expect(recorder.stats()).toMatchObject({ dropped: 3, created: 0 });
  });

  it('paces its posts', async () => {
    const recorder = new KubeEventRecorder(
      client,
      { ...OPTIONS, component: 'meshca-pace', eventsPerSecond: 4 },
      { clock: systemClock, logger },
    );
    await recorder.start(stop.signal);
    const started = Date.now();
    for (let i = 0; i < 14; i++) {
      recorder.record({
        involvedObject: { apiVersion: 'v1', kind: 'Secret', namespace, name: `paced-${i}` },
        type: 'Warning',
        reason: 'WeakKey',
        message: 'weak',
        key: `pace-${i}`,
      });
    }
    await recorder.drained(stop.signal);
    await recorder.close();
    // A burst of 8, then 6 more at 4 per second: at least ~1.5 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(await events(namespace, 'meshca-pace')).toHaveLength(14);
  });

  it('forgets a key whose post failed, so that the next record tries again', async () => {
    const recorder = new KubeEventRecorder(client, OPTIONS, { clock: systemClock, logger });
    await recorder.start(stop.signal);
    const event = {
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: uniqueName('gone'),
        name: 'x',
      },
      type: 'Warning' as const,
      reason: 'WeakKey',
      message: 'weak',
      key: 'fails',
    };
    recorder.record(event); // the namespace does not exist: 404
    await recorder.drained(stop.signal);
    recorder.record(event);
    await recorder.drained(stop.signal);
    await recorder.close();
    expect(recorder.stats()).toMatchObject({ failed: 2, suppressed: 0 });
  });
});
