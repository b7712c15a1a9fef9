/**
 * Policy sources: the first version must load (or meshca does not start); later versions replace
 * it only when they verify and parse; every refusal is counted, logged and shown in readiness.
 * Files are real files, including a kubelet-style ConfigMap mount with its `..data` symlink swap.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FilePolicyReader,
  PolicyLoadError,
  PolicySignatureVerifier,
  PolicySource,
  PolicyStore,
  signPolicy,
  type PolicyBytes,
  type PolicyDocumentReader,
} from '../../src/policy/index.js';
import { eventually } from '../support/kube.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { document } from './fixtures.js';
import { RecordingMetrics, recordingLogger } from './recorders.js';

const GOOD = document('defaultAction: allow', 'first');
const BETTER = document('defaultAction: deny', 'second');
const BROKEN = document('defaultAction: allow\nrules:\n  - name: a\n    keyTypes: [DSA]', 'broken');

interface Harness {
  readonly source: PolicySource;
  readonly store: PolicyStore;
  readonly metrics: RecordingMetrics;
  readonly lines: () => Record<string, unknown>[];
  readonly file: string;
  readonly controller: AbortController;
}

function keyPair(): { privatePem: string; publicFile: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicFile = join(tempDir('meshca-key-'), 'key.pem');
  writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicFile,
  };
}

function harness(
  file: string,
  options: {
    verifier?: PolicySignatureVerifier;
    reader?: PolicyDocumentReader;
    intervalMs?: number;
  } = {},
): Harness {
  const store = new PolicyStore();
  const metrics = new RecordingMetrics();
  const { logger, lines } = recordingLogger();
  const source = new PolicySource({
    layer: 'central',
    reader: options.reader ?? new FilePolicyReader(file),
    verifier: options.verifier,
    store,
    reloadIntervalMs: options.intervalMs ?? 3_600_000,
    metrics,
    logger,
  });
  return { source, store, metrics, lines, file, controller: new AbortController() };
}

async function write(file: string, text: string, key?: string): Promise<void> {
  writeFileSync(file, text);
  if (key !== undefined) writeFileSync(`${file}.jws`, await signPolicy(key, Buffer.from(text)));
}

const sources: PolicySource[] = [];
afterEach(async () => {
  for (const source of sources.splice(0)) await source.close();
});
afterAll(removeTempDirs);

async function started(h: Harness): Promise<Harness> {
  sources.push(h.source);
  await h.source.start(h.controller.signal);
  return h;
}

describe('PolicySource', () => {
  it('puts the first version in force, counts it and logs its name and SHA-256', async () => {
    const file = join(tempDir(), 'central.yaml');
    await write(file, GOOD);
    const h = await started(harness(file));
    expect(h.store.snapshot().central).toMatchObject({ name: 'first', origin: file });
    expect(h.source.current?.name).toBe('first');
    expect(h.metrics.reloads).toEqual(['central:loaded']);
    expect(h.metrics.inForceLog).toEqual(['central:first']);
    expect(h.lines().find((line) => line['msg'] === 'policy in force')).toMatchObject({
      layer: 'central',
      policy: 'first',
      sha256: h.store.snapshot().central?.sha256,
      origin: file,
    });
    expect(h.source.readiness()[0]).toMatchObject({
      name: 'policy-central',
      severity: 'informational',
    });
    expect(h.source.readiness()[0]?.check()).toBeUndefined();
  });

  it.each<[string, (file: string) => Promise<void>, RegExp]>([
    [
      'a missing file',
      () => Promise.resolve(),
      /the central policy \(.*central.yaml\) could not be loaded, so meshca will not start: rejected: .*the policy document does not exist/,
    ],
    [
      'an invalid document',
      (file) => write(file, BROKEN),
      /will not start: rejected: .*central.yaml:9:\d+: spec.rules\[0\].keyTypes\[0\]/,
    ],
  ])('refuses to start with %s', async (_name, prepare, message) => {
    const file = join(tempDir(), 'central.yaml');
    await prepare(file);
    const h = harness(file);
    sources.push(h.source);
    const error = await h.source.start(h.controller.signal).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PolicyLoadError);
    expect((error as Error).message).toMatch(message);
    expect(h.store.snapshot().central).toBeUndefined();
  });

  it('with signing keys, refuses to start on an unsigned or badly signed policy', async () => {
    const key = keyPair();
    const verifier = await PolicySignatureVerifier.fromFiles([key.publicFile]);
    const file = join(tempDir(), 'central.yaml');
    await write(file, GOOD);
    const unsigned = harness(file, { verifier });
    sources.push(unsigned.source);
    await expect(unsigned.source.start(unsigned.controller.signal)).rejects.toThrow(
      /will not start: unsigned: .*central.yaml is not signed: policy signing keys are configured, so the central policy needs a detached JWS in .*central.yaml.jws/,
    );
    expect(unsigned.metrics.reloads).toEqual(['central:unsigned']);

    await write(file, GOOD, keyPair().privatePem);
    const wrongKey = harness(file, { verifier });
    sources.push(wrongKey.source);
    await expect(wrongKey.source.start(wrongKey.controller.signal)).rejects.toThrow(
      /will not start: bad-signature: .*central.yaml.jws: the signature names an unknown key/,
    );
    expect(wrongKey.metrics.reloads).toEqual(['central:bad-signature']);

    await write(file, GOOD, key.privatePem);
    const good = await started(harness(file, { verifier }));
    expect(good.store.snapshot().central?.name).toBe('first');
    expect(good.lines().find((line) => line['msg'] === 'policy in force')).toHaveProperty(
      'signedBy',
    );
  });

  it('a broken edit keeps the policy in force, once counted, shown in readiness; a fix replaces it', async () => {
    const file = join(tempDir(), 'central.yaml');
    await write(file, GOOD);
    const h = await started(harness(file));
    const first = h.store.snapshot().central;

    await write(file, BROKEN);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('rejected');
    expect(h.store.snapshot().central).toBe(first);
    expect(h.source.readiness()[0]?.check()).toMatch(
      /^keeping first \(sha256 [0-9a-f]{12}\); newest version refused: rejected: .*central.yaml:9:\d+: spec.rules\[0\].keyTypes\[0\]/,
    );
    expect(
      h
        .lines()
        .find((line) => line['msg'] === 'new policy version refused; the policy in force is kept'),
    ).toMatchObject({
      level: 40,
      layer: 'central',
      result: 'rejected',
      keeping: 'first',
    });
    // The same broken bytes again: nothing new to say.
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('unchanged');
    expect(h.metrics.reloads).toEqual(['central:loaded', 'central:rejected']);

    await write(file, BETTER);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('loaded');
    expect(h.store.snapshot().central?.name).toBe('second');
    expect(h.source.readiness()[0]?.check()).toBeUndefined();
    expect(h.metrics.inForceLog).toEqual(['central:first', 'central:second']);
  });

  it('a deleted file keeps the policy in force; restoring it clears the problem', async () => {
    const file = join(tempDir(), 'central.yaml');
    await write(file, GOOD);
    const h = await started(harness(file));
    unlinkSync(file);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('rejected');
    expect(h.store.snapshot().central?.name).toBe('first');
    expect(h.source.readiness()[0]?.check()).toMatch(/the policy document does not exist/);
    await write(file, GOOD);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('loaded');
    expect(h.source.readiness()[0]?.check()).toBeUndefined();
    // Same version as in force: not installed again.
    expect(h.metrics.inForceLog).toEqual(['central:first']);
  });

  it('with signing keys: an unsigned or badly signed update is refused; a rotated key is accepted', async () => {
    const oldKey = keyPair();
    const newKey = keyPair();
    const verifier = await PolicySignatureVerifier.fromFiles([
      oldKey.publicFile,
      newKey.publicFile,
    ]);
    const file = join(tempDir(), 'central.yaml');
    await write(file, GOOD, oldKey.privatePem);
    const h = await started(harness(file, { verifier }));

    // The new document without a new signature: the old .jws does not match it.
    writeFileSync(file, BETTER);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('bad-signature');
    rmSync(`${file}.jws`);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('unsigned');
    await write(file, BETTER, keyPair().privatePem);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('bad-signature');
    expect(h.store.snapshot().central?.name).toBe('first');
    expect(h.source.readiness()[0]?.check()).toMatch(/^keeping first .*bad-signature/);

    await write(file, BETTER, newKey.privatePem);
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('loaded');
    expect(h.store.snapshot().central?.name).toBe('second');
    expect(h.metrics.reloads).toEqual([
      'central:loaded',
      'central:bad-signature',
      'central:unsigned',
      'central:bad-signature',
      'central:loaded',
    ]);
  });

  it('follows a ConfigMap mount: the ..data symlink swap brings document and signature together', async () => {
    const key = keyPair();
    const verifier = await PolicySignatureVerifier.fromFiles([key.publicFile]);
    const mount = tempDir('meshca-mount-');
    const version = async (name: string, text: string): Promise<void> => {
      mkdirSync(join(mount, name));
      await write(join(mount, name, 'policy.yaml'), text, key.privatePem);
    };
    await version('..2030_01_01_v1', GOOD);
    symlinkSync('..2030_01_01_v1', join(mount, '..data'));
    symlinkSync('..data/policy.yaml', join(mount, 'policy.yaml'));
    symlinkSync('..data/policy.yaml.jws', join(mount, 'policy.yaml.jws'));
    const h = await started(harness(join(mount, 'policy.yaml'), { verifier, intervalMs: 50 }));
    expect(h.store.snapshot().central?.name).toBe('first');

    // What the kubelet does: write the new version aside, then swap ..data atomically.
    await version('..2030_01_01_v2', BETTER);
    symlinkSync('..2030_01_01_v2', join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    await eventually('the new version', () =>
      h.store.snapshot().central?.name === 'second' ? true : undefined,
    );
    expect(h.metrics.reloads).toEqual(['central:loaded', 'central:loaded']);
  });

  it('polls in the background, and stops when closed', async () => {
    const file = join(tempDir(), 'central.yaml');
    await write(file, GOOD);
    const h = await started(harness(file, { intervalMs: 30 }));
    await write(file, BETTER);
    await eventually('the edit', () =>
      h.store.snapshot().central?.name === 'second' ? true : undefined,
    );
    await h.source.close();
    await write(file, GOOD);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h.store.snapshot().central?.name).toBe('second');
  });

  it('a watching reader wakes the source at once; an unreadable source keeps the policy', async () => {
    let current: PolicyBytes | Error = {
      document: Buffer.from(GOOD),
      signature: undefined,
      origin: 'ConfigMap meshca/central key policy.yaml',
      signatureOrigin: 'ConfigMap meshca/central key policy.yaml.jws',
    };
    const listeners = new Set<() => void>();
    const reader: PolicyDocumentReader = {
      description: 'ConfigMap meshca/central key policy.yaml',
      read: () => (current instanceof Error ? Promise.reject(current) : Promise.resolve(current)),
      onChange: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const h = await started(harness('', { reader, intervalMs: 3_600_000 }));
    current = { ...current, document: Buffer.from(BETTER) };
    for (const listener of listeners) listener();
    await eventually('the woken reload', () =>
      h.store.snapshot().central?.name === 'second' ? true : undefined,
    );
    const previous = current;
    current = new Error('the API server is unreachable');
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('unreadable');
    expect(h.source.readiness()[0]?.check()).toMatch(
      /^keeping second .*could not be read: the API server is unreachable/,
    );
    expect(h.metrics.reloads).toEqual(['central:loaded', 'central:loaded']);
    // Readable again, the same version: the problem is gone.
    current = { ...previous, document: Buffer.from(BETTER) };
    await expect(h.source.reload(h.controller.signal)).resolves.toBe('unchanged');
    expect(h.source.readiness()[0]?.check()).toBeUndefined();
    await h.source.close();
    expect(listeners.size).toBe(0);
  });
});
