/**
 * A signed central policy through `meshca serve`: a good signature loads; a bad, foreign or
 * missing one on reload is refused, counted and shown while the last good version stays in
 * force; two keys configured at once let the security team rotate; and without a valid central
 * policy meshca refuses to start — in-process, and through the real command line (exit status
 * and message).
 */
import { status as Status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { PolicyLoadError } from '../../src/policy/index.js';
import { document } from '../policy/fixtures.js';
import { REPO_ROOT } from '../support/environment.js';
import { eventually } from '../support/kube.js';
import { childEnv } from '../support/meshca-process.js';
import {
  MountedPolicy,
  callCa,
  httpGet,
  metricValue,
  signText,
  signingKey,
  spiffe,
  writePolicy,
  type SigningKey,
} from '../support/policy.js';
import { run } from '../support/process.js';
import { startDevServer, type DevServer } from '../support/server.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

/** A central policy that refuses one identity, named after its version. */
function central(version: string, denied: string): string {
  return document(
    `
defaultAction: allow
rules:
  - name: deny-${version}
    identities: { deny: ['${denied}'] }
`,
    `central-${version}`,
  );
}

afterAll(removeTempDirs);

describe('meshca serve with a signed central policy and two signing keys', () => {
  let dir: string;
  let keyA: SigningKey;
  let keyB: SigningKey;
  let foreign: SigningKey;
  let mounted: MountedPolicy;
  let dev: DevServer;

  const refusedWith = async (sa: string): Promise<string> => {
    const outcome = await callCa(dev.client(), await dev.token('apps', sa), spiffe('apps', sa));
    return outcome.code === Status.OK ? 'issued' : outcome.details;
  };
  const reloads = async (result: string): Promise<number> =>
    metricValue(
      (await httpGet(dev.server.httpPort, '/metrics')).body,
      'meshca_policy_reloads_total',
      {
        layer: 'central',
        result,
      },
    ) ?? 0;
  const inForceLines = (): Record<string, unknown>[] =>
    dev
      .logs()
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['msg'] === 'policy in force');

  beforeAll(async () => {
    dir = tempDir('meshca-signed-');
    keyA = signingKey(dir, 'team-a');
    keyB = signingKey(dir, 'team-b');
    foreign = signingKey(dir, 'someone-else');
    mounted = new MountedPolicy(tempDir('meshca-central-'));
    const first = central('v1', 'apps/one');
    mounted.publish(first, await signText(first, keyA));
    dev = await startDevServer([
      '--policy-central',
      mounted.path,
      '--policy-signing-keys',
      `${keyA.publicFile},${keyB.publicFile}`,
      '--policy-reload-interval',
      '100ms',
    ]);
  });
  afterAll(() => dev.stop());

  it('loads a version signed by the first key, and logs the key', async () => {
    expect(await refusedWith('one')).toBe('policy central/deny-v1: identity apps/one is denied');
    expect(inForceLines().at(-1)).toMatchObject({
      layer: 'central',
      policy: 'central-v1',
      signedBy: expect.any(String) as unknown,
    });
    expect(dev.server.ops.readiness().details['policy-central']).toBe('ok');
    // The console's overview names it, its hash and the key that signed it.
    const signedBy = inForceLines().at(-1)?.['signedBy'];
    const sha256 = inForceLines().at(-1)?.['sha256'];
    const overview = JSON.parse(
      (await httpGet(dev.server.httpPort, '/v1/inventory/overview')).body,
    ) as {
      items: { policies: unknown[] }[];
    };
    expect(overview.items[0]?.policies).toEqual([
      {
        layer: 'central',
        name: 'central-v1',
        sha256,
        origin: expect.stringContaining('policy') as unknown,
        signature: 'verified',
        signedBy,
      },
    ]);
  });

  it('loads a version signed by the second key (rotation)', async () => {
    const text = central('v2', 'apps/two');
    mounted.publish(text, await signText(text, keyB));
    await eventually('v2 in force', async () =>
      (await refusedWith('two')) === 'policy central/deny-v2: identity apps/two is denied'
        ? true
        : undefined,
    );
    expect(await refusedWith('one')).toBe('issued');
    const [v1, v2] = inForceLines().slice(-2);
    expect(v2?.['policy']).toBe('central-v2');
    expect(v2?.['signedBy']).not.toBe(v1?.['signedBy']);
  });

  it.each<[string, (text: string) => Promise<string | undefined>, string, string]>([
    [
      'a signature of another document',
      () => signText(central('v2', 'apps/two'), keyA),
      'bad-signature',
      'the signature does not verify under any configured key',
    ],
    [
      'a signature by a key meshca was not given',
      (text) => signText(text, foreign),
      'bad-signature',
      'the signature names an unknown key',
    ],
    [
      'no signature',
      () => Promise.resolve(undefined),
      'unsigned',
      'is not signed: policy signing keys are configured',
    ],
  ])('refuses %s, and keeps the last good version', async (_what, sign, result, reason) => {
    const before = await reloads(result);
    const text = central('v3', 'apps/three');
    mounted.publish(text, await sign(text));
    await eventually(`${result} counted`, async () =>
      (await reloads(result)) > before ? true : undefined,
    );
    const detail = dev.server.ops.readiness().details['policy-central'] ?? '';
    expect(detail).toMatch(/^keeping central-v2 \(sha256 [0-9a-f]{12}\); newest version refused: /);
    expect(detail).toContain(`${result}: `);
    expect(detail).toContain(reason);
    expect(dev.server.ops.readiness().ready).toBe(true);
    // Still v2: apps/two refused, apps/three issued.
    expect(await refusedWith('two')).toBe('policy central/deny-v2: identity apps/two is denied');
    expect(await refusedWith('three')).toBe('issued');
  });

  it('takes the next good version after refused ones', async () => {
    const text = central('v4', 'apps/four');
    mounted.publish(text, await signText(text, keyA));
    await eventually('v4 in force', async () =>
      (await refusedWith('four')) !== 'issued' ? true : undefined,
    );
    expect(dev.server.ops.readiness().details['policy-central']).toBe('ok');
    expect(await reloads('loaded')).toBe(3);
  });
});

describe('meshca refuses to start without a valid central policy', () => {
  let dir: string;
  let key: SigningKey;
  let policyFile: string;
  let text: string;

  beforeAll(() => {
    dir = tempDir('meshca-refuse-');
    key = signingKey(dir, 'team');
    text = central('v1', 'apps/one');
    policyFile = writePolicy(dir, 'central.yaml', 'unused', 'defaultAction: allow\nrules: []');
  });

  async function publish(signature: 'good' | 'bad' | 'none'): Promise<void> {
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(policyFile, text);
    rmSync(`${policyFile}.jws`, { force: true });
    if (signature === 'good') writeFileSync(`${policyFile}.jws`, await signText(text, key));
    if (signature === 'bad') {
      writeFileSync(`${policyFile}.jws`, await signText(central('v0', 'apps/zero'), key));
    }
  }

  it.each<['bad' | 'none', string]>([
    [
      'none',
      'unsigned: POLICY is not signed: policy signing keys are configured, so the central policy needs a detached JWS in POLICY.jws',
    ],
    ['bad', 'bad-signature: POLICY.jws: the signature does not verify under any configured key'],
  ])('in-process: signature %s', async (signature, reason) => {
    await publish(signature);
    await expect(
      startDevServer(['--policy-central', policyFile, '--policy-signing-keys', key.publicFile]),
    ).rejects.toThrow(
      new PolicyLoadError(
        `the central policy (${policyFile}) could not be loaded, so meshca will not start: ${reason.replaceAll('POLICY', policyFile)}`,
      ),
    );
  });

  /** Runs the real command line: `meshca serve ARGS`. */
  function serve(args: readonly string[]): ReturnType<typeof run> {
    return run(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'test/support/meshca-main.ts'),
        'serve',
        '--state-dir',
        join(dir, 'state'),
        '--listen',
        '127.0.0.1:0',
        '--http-listen',
        '127.0.0.1:0',
        ...args,
      ],
      { cwd: REPO_ROOT, env: childEnv(), timeoutMs: 30_000 },
    );
  }

  it.each<['bad' | 'none' | 'missing', string]>([
    ['none', 'unsigned: POLICY is not signed'],
    ['bad', 'bad-signature: POLICY.jws: the signature does not verify under any configured key'],
    ['missing', 'rejected: POLICY: the policy document does not exist'],
  ])('through the command line: signature %s exits 1 and says why', async (signature, reason) => {
    if (signature === 'missing') {
      const { rmSync } = await import('node:fs');
      rmSync(policyFile, { force: true });
    } else {
      await publish(signature);
    }
    const result = await serve([
      '--policy-central',
      policyFile,
      '--policy-signing-keys',
      key.publicFile,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `meshca serve: the central policy (${policyFile}) could not be loaded, so meshca will not start: ${reason.replaceAll('POLICY', policyFile)}`,
    );
    const fatal = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line['msg'] === 'meshca failed to start');
    expect(String(fatal?.['err'])).toContain('could not be loaded, so meshca will not start');
  });

  it.each<[string, string[], number, string]>([
    [
      'signing keys without a central policy',
      ['--policy-local', 'local.yaml', '--policy-signing-keys', 'team.pub'],
      2,
      '--policy-signing-keys: there is no central policy to verify: set policyCentral or policyCentralConfigMap',
    ],
    [
      'a signing key file that holds no public key',
      ['--policy-central', 'central.yaml', '--policy-signing-keys', 'central.yaml'],
      1,
      'meshca serve: policySigningKeys: ',
    ],
  ])('through the command line: %s', async (_what, args, code, message) => {
    await publish('good');
    const result = await serve(args.map((arg) => (arg.includes('.') ? join(dir, arg) : arg)));
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(message);
  });

  it('starts with a good signature', async () => {
    await publish('good');
    const dev = await startDevServer([
      '--policy-central',
      policyFile,
      '--policy-signing-keys',
      key.publicFile,
    ]);
    try {
      const outcome = await callCa(
        dev.client(),
        await dev.token('apps', 'one'),
        spiffe('apps', 'one'),
      );
      expect(outcome.details).toBe('policy central/deny-v1: identity apps/one is denied');
    } finally {
      await dev.stop();
    }
  });
});
