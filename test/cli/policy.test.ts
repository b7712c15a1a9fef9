/**
 * `meshca policy lint | explain | sign` and `meshca token --pod`, as a user runs them: exit codes,
 * messages located by file and line, the explain table and JSON (with given facts, and against the
 * real kube-apiserver), signatures meshca then verifies.
 */
import * as k8s from '@kubernetes/client-node';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../../src/cli/main.js';
import { ensureDevTokenIssuer } from '../../src/devmode/index.js';
import { PolicySignatureVerifier } from '../../src/policy/index.js';
import { REPO_ROOT, testKubeconfig } from '../support/environment.js';
import {
  adminKubeConfig,
  createPod,
  createServiceAccount,
  describeKube,
  uniqueName,
} from '../support/kube.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';
import { document } from '../policy/fixtures.js';

const EXAMPLES = join(REPO_ROOT, 'examples/policy');
const CENTRAL = join(EXAMPLES, 'central-baseline.yaml');
const SHOP_ONLY = join(EXAMPLES, 'local-namespace-only.yaml');
const INGRESS = join(EXAMPLES, 'local-ingress-required.yaml');
const never = new AbortController().signal;

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCommand(
    argv,
    {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env: {},
      cwd: REPO_ROOT,
    },
    never,
  );
  return { code, out, err };
}

function keyPair(dir: string): { privateFile: string; publicFile: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateFile = join(dir, 'security-team.key');
  const publicFile = join(dir, 'security-team.pub');
  writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateFile, publicFile };
}

afterAll(removeTempDirs);

describe('meshca policy', () => {
  it('without a command prints its usage', async () => {
    expect(await run('policy')).toMatchObject({
      code: 2,
      out: expect.stringContaining('lint CENTRAL [LOCAL]') as string,
    });
    expect(await run('policy', 'frobnicate')).toMatchObject({
      code: 2,
      err: expect.stringContaining('unknown command "frobnicate"') as string,
    });
  });

  describe('lint', () => {
    it('passes the examples', async () => {
      for (const local of [SHOP_ONLY, INGRESS]) {
        const result = await run('policy', 'lint', 'examples/policy/central-baseline.yaml', local);
        expect(result).toMatchObject({ code: 0, err: '' });
        expect(result.out).toMatch(
          /^examples\/policy\/central-baseline.yaml: security-baseline, 4 rule\(s\), sha256 [0-9a-f]{64}\n/,
        );
        expect(result.out).toMatch(/\nok\n$/);
      }
    });

    it('reports errors with file, line, column and path, and exits 1', async () => {
      const file = join(tempDir(), 'broken.yaml');
      writeFileSync(
        file,
        document(
          'defaultAction: allow\nrules:\n  - name: a\n    keyTypes: [DSA]\n    liveWorkLoad: true',
        ),
      );
      const result = await run('policy', 'lint', file);
      expect(result.code).toBe(1);
      expect(result.err).toBe(
        `error: ${file}:9:18: spec.rules[0].keyTypes[0]: Invalid option: expected one of "RSA-2048"|"RSA-3072"|"RSA-4096"|"ECDSA-P256"|"ECDSA-P384"\n` +
          `error: ${file}:10:7: spec.rules[0].liveWorkLoad: unknown field\n` +
          '2 error(s)\n',
      );
    });

    it('warns, exits 0, or 1 with --strict', async () => {
      const local = join(tempDir(), 'local.yaml');
      writeFileSync(
        local,
        document(
          'defaultAction: allow\nrules:\n  - name: keys\n    keyTypes: [ECDSA-P256, ECDSA-P384, RSA-2048, RSA-3072, RSA-4096]',
          'loose',
        ),
      );
      const result = await run('policy', 'lint', CENTRAL, local);
      expect(result.code).toBe(0);
      expect(result.err).toBe(
        `warning: ${local}:8:7: local rule "keys": can never have an effect: looser than or equal to central (keyTypes allows at least the key types of central rule "key-types")\n`,
      );
      expect(result.out).toMatch(/1 warning\(s\)\n$/);
      expect((await run('policy', 'lint', '--strict', CENTRAL, local)).code).toBe(1);
    });

    it('verifies the central signature with --signing-key', async () => {
      const dir = tempDir();
      const { privateFile, publicFile } = keyPair(dir);
      const central = join(dir, 'central.yaml');
      copyFileSync(CENTRAL, central);
      const unsigned = await run('policy', 'lint', central, '--signing-key', publicFile);
      expect(unsigned).toMatchObject({ code: 1 });
      expect(unsigned.err).toContain(`error: ${central}: not signed (no ${central}.jws)`);

      expect((await run('policy', 'sign', '--key', privateFile, central)).code).toBe(0);
      const signed = await run('policy', 'lint', central, '--signing-key', publicFile);
      expect(signed).toMatchObject({ code: 0 });
      expect(signed.out).toMatch(/signature ok \(ES256, key [\w-]+\)/);

      const other = keyPair(tempDir());
      const wrong = await run('policy', 'lint', central, '--signing-key', other.publicFile);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toContain('bad-signature: the signature names an unknown key');
    });
  });

  describe('sign', () => {
    it('writes POLICY.jws, a detached JWS meshca verifies', async () => {
      const dir = tempDir();
      const { privateFile, publicFile } = keyPair(dir);
      const central = join(dir, 'central.yaml');
      copyFileSync(CENTRAL, central);
      const result = await run('policy', 'sign', '--key', privateFile, central);
      expect(result.code).toBe(0);
      expect(result.out).toMatch(new RegExp(`^wrote ${central}.jws \\(ES256, key [\\w-]+\\)\\n$`));
      const signature = readFileSync(`${central}.jws`, 'utf8');
      expect(signature).toMatch(/^[\w-]+\.\.[\w-]+\n$/);
      const verifier = await PolicySignatureVerifier.fromFiles([publicFile]);
      await expect(verifier.verify(readFileSync(central), signature)).resolves.toMatchObject({
        algorithm: 'ES256',
      });
    });

    it('prints with --out -', async () => {
      const { privateFile } = keyPair(tempDir());
      const result = await run('policy', 'sign', '--key', privateFile, '--out', '-', CENTRAL);
      expect(result).toMatchObject({ code: 0 });
      expect(result.out).toMatch(/^[\w-]+\.\.[\w-]+\n$/);
    });

    it('refuses to sign an invalid policy, and needs a key', async () => {
      const dir = tempDir();
      const { privateFile } = keyPair(dir);
      const broken = join(dir, 'broken.yaml');
      writeFileSync(broken, document('defaultAction: perhaps'));
      const result = await run('policy', 'sign', '--key', privateFile, broken);
      expect(result.code).toBe(1);
      expect(result.err).toContain('not signed: the policy is not valid');
      expect((await run('policy', 'sign', CENTRAL)).code).toBe(2);
    });
  });

  describe('explain (given facts)', () => {
    it('prints every rule of each layer and the decision; exit 0 when issued', async () => {
      const result = await run(
        'policy',
        'explain',
        '--central',
        'examples/policy/central-baseline.yaml',
        '--local',
        'examples/policy/local-namespace-only.yaml',
        '-n',
        'shop',
        '-s',
        'web',
        '--pod',
        'web-1',
        '--ttl',
        '48h',
      );
      expect(result.code).toBe(0);
      expect(result.out).toContain('  live-workload          enforce  allow\n');
      expect(result.out).toContain('  kube-system-allowlist  enforce  -        not applicable\n');
      expect(result.out).toContain('  => allow by shop-workloads\n');
      expect(result.out).toContain(
        'decision  ALLOW  by local/shop-workloads; ttl 24h (policy, max set by central/max-lifetime)\n',
      );
    });

    it('exit 3 when refused, naming the layer and rule', async () => {
      const result = await run(
        'policy',
        'explain',
        '--central',
        CENTRAL,
        '--local',
        SHOP_ONLY,
        '-n',
        'bank',
        '-s',
        'api',
      );
      expect(result.code).toBe(3);
      expect(result.out).toContain(
        "  live-workload          enforce  DENY     the caller's token is not bound to a pod (a projected, pod-bound token is required)\n",
      );
      expect(result.out).toContain(
        '  => deny by default: no local rule allows bank/api and the default action is deny\n',
      );
      expect(result.out).toContain(
        "decision  DENY   policy central/live-workload: the caller's token is not bound to a pod",
      );
    });

    it.each<[string, string[], number, string]>([
      [
        'a terminating pod',
        ['--pod', 'web-1', '--pod-state', 'terminating'],
        3,
        "the caller's pod is terminating",
      ],
      [
        'an Ingress given',
        ['--pod', 'web-1', '--object', 'networking.k8s.io/v1/Ingress/shop/web'],
        0,
        'by local/shop-ingress',
      ],
      [
        'no Ingress',
        ['--pod', 'web-1', '--object', 'networking.k8s.io/v1/Ingress/other/web'],
        3,
        'policy local/shop-ingress: no Ingress (networking.k8s.io/v1) in namespace shop',
      ],
      [
        'a key central refuses',
        [
          '--pod',
          'web-1',
          '--key',
          'ECDSA-P384',
          '--object',
          'networking.k8s.io/v1/Ingress/shop/web',
        ],
        3,
        'policy central/key-types',
      ],
    ])('%s', async (_name, args, code, expected) => {
      const result = await run(
        'policy',
        'explain',
        '--central',
        CENTRAL,
        '--local',
        INGRESS,
        '-n',
        'shop',
        '-s',
        'web',
        ...args,
      );
      expect(result.code).toBe(code);
      expect(result.out).toContain(expected);
    });

    it('audit verdicts are shown', async () => {
      const local = join(tempDir(), 'dry.yaml');
      writeFileSync(
        local,
        document(
          'defaultAction: deny\nmode: audit\nrules:\n  - name: bank\n    selector: {namespaces: [bank]}',
          'dry-run',
        ),
      );
      const result = await run(
        'policy',
        'explain',
        '--central',
        CENTRAL,
        '--local',
        local,
        '-n',
        'shop',
        '-s',
        'web',
        '--pod',
        'web-1',
      );
      expect(result.code).toBe(0);
      expect(result.out).toContain(
        'audit     local/default would deny: no local rule allows shop/web and the default action is deny\n',
      );
    });

    it('--json', async () => {
      const result = await run(
        'policy',
        'explain',
        '--central',
        CENTRAL,
        '-n',
        'shop',
        '-s',
        'web',
        '--pod',
        'web-1',
        '--pod-uid',
        'u-1',
        '--json',
      );
      expect(result.code).toBe(0);
      const json = JSON.parse(result.out) as Record<string, unknown>;
      expect(json).toMatchObject({
        request: {
          identity: 'spiffe://cluster.local/ns/shop/sa/web',
          pod: { name: 'web-1', uid: 'u-1' },
          key: 'ECDSA-P256',
          requestedTtlSeconds: 0,
        },
        facts: 'given',
        layers: [
          {
            layer: 'central',
            policy: { name: 'security-baseline' },
            effect: 'allow',
            rule: 'key-types',
            rules: expect.arrayContaining([
              {
                rule: 'max-lifetime',
                mode: 'enforce',
                verdict: 'allow',
                constraint: null,
                reason: null,
                ttlMaxSeconds: 86400,
                ttlDefaultSeconds: 43200,
              },
            ]) as unknown,
          },
        ],
        decision: {
          effect: 'allow',
          layer: 'central',
          rule: 'key-types',
          ttlSeconds: 43200,
          ttlAdjustment: 'default',
          reason: null,
          audits: [],
        },
      });
    });

    it.each<[string, string[], string]>([
      ['no identity', ['--central', CENTRAL], '--namespace and --service-account are required'],
      ['no policy', ['-n', 'a', '-s', 'b'], 'give --central FILE, --local FILE or both'],
      [
        'a bad key',
        ['--central', CENTRAL, '-n', 'a', '-s', 'b', '--key', 'DSA'],
        '--key must be one of',
      ],
      [
        'a bad object',
        ['--central', CENTRAL, '-n', 'a', '-s', 'b', '--object', 'Ingress/web'],
        'expected APIVERSION/KIND/NAMESPACE/NAME',
      ],
      [
        'facts from both sides',
        ['--central', CENTRAL, '-n', 'a', '-s', 'b', '--kubeconfig', 'k', '--pod-state', 'gone'],
        'not both',
      ],
      [
        'a maximum TTL below the default',
        ['--central', CENTRAL, '-n', 'a', '-s', 'b', '--max-ttl', '1h'],
        '0 < --min-ttl (600s) <= --default-ttl (86400s) <= --max-ttl (3600s)',
      ],
    ])('usage errors: %s', async (_name, args, message) => {
      const result = await run('policy', 'explain', ...args);
      expect(result.code).toBe(2);
      expect(result.err).toContain(message);
    });
  });
});

describeKube('meshca policy explain --kubeconfig (real kube-apiserver)', () => {
  it('reads the pod, the namespace and the Ingress from the cluster', async () => {
    const admin = adminKubeConfig();
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const namespace = uniqueName('shop');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await createServiceAccount(admin, namespace, 'web');
    const kubeconfig = testKubeconfig() ?? '';
    const local = join(tempDir(), 'local.yaml');
    writeFileSync(
      local,
      document(
        `defaultAction: allow\nrules:\n  - name: ingress\n    selector: {namespaces: [${namespace}]}\n    requiredObjects: [{apiVersion: networking.k8s.io/v1, kind: Ingress}]`,
        'needs-ingress',
      ),
    );
    const explain = (): Promise<{ code: number; out: string; err: string }> =>
      run(
        'policy',
        'explain',
        '--central',
        CENTRAL,
        '--local',
        local,
        '-n',
        namespace,
        '-s',
        'web',
        '--pod',
        'web-1',
        '--kubeconfig',
        kubeconfig,
      );

    const gone = await explain();
    expect(gone.code).toBe(3);
    expect(gone.out).toContain(`token bound to pod ${namespace}/web-1 (uid (no such pod))`);
    expect(gone.out).toContain("live-workload          enforce  DENY     the caller's pod is gone");

    const pod = await createPod(admin, namespace, 'web-1', 'web');
    const noIngress = await explain();
    expect(noIngress.out).toContain(`uid ${pod.metadata?.uid ?? ''}`);
    expect(noIngress.out).toContain(
      `decision  DENY   policy local/ingress: no Ingress (networking.k8s.io/v1) in namespace ${namespace}`,
    );

    await admin.makeApiClient(k8s.NetworkingV1Api).createNamespacedIngress({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
      },
    });
    const issued = await explain();
    expect(issued.code).toBe(0);
    expect(issued.out).toContain(
      'decision  ALLOW  by local/ingress; ttl 12h (default, set by central/max-lifetime)',
    );
  });
});

describe('meshca token --pod', () => {
  it('mints a pod-bound development token', async () => {
    const stateDir = tempDir();
    await ensureDevTokenIssuer(stateDir);
    const result = await run(
      'token',
      '-n',
      'shop',
      '-s',
      'web',
      '--pod',
      'web-1',
      '--pod-uid',
      'uid-1',
      '--state-dir',
      stateDir,
    );
    expect(result.code).toBe(0);
    const claims = JSON.parse(
      Buffer.from(result.out.trim().split('.')[1] ?? '', 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(claims['kubernetes.io']).toMatchObject({
      namespace: 'shop',
      pod: { name: 'web-1', uid: 'uid-1' },
    });
    expect(
      (await run('token', '-n', 'a', '-s', 'b', '--pod', 'p', '--state-dir', stateDir)).err,
    ).toContain('--pod and --pod-uid go together');
    expect(
      (
        await run(
          'token',
          '-n',
          'a',
          '-s',
          'b',
          '--pod',
          'p',
          '--pod-name',
          'p',
          '--pod-uid',
          'u',
          '--state-dir',
          stateDir,
        )
      ).err,
    ).toContain('not both');
  });
});
