/**
 * The commands a security engineer runs inside meshca's pod (`kubectl exec deploy/meshca --
 * …inventory / ledger verify / revoke`, as the README says) find the ledger `meshca serve`
 * writes there, with the base manifests (SQLite in the state directory) and with the PostgreSQL
 * overlay; and the image they run in has what the default ledger needs (better-sqlite3's native
 * addon is built, though the other packages' install scripts are not run).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig, loadLedgerLocation } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/environment.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

afterAll(removeTempDirs);

const MANIFESTS = join(REPO_ROOT, 'manifests');
/** Where the pod mounts meshca's config file. */
const IN_POD_CONFIG = '/etc/meshca/config.yaml';

interface EnvVar {
  readonly name: string;
  readonly value?: string;
}
interface Container {
  readonly args: readonly string[];
  readonly env: readonly EnvVar[];
}

function deploymentContainer(file: string): Container {
  const documents = parseAllDocuments(readFileSync(join(MANIFESTS, file), 'utf8')).map(
    (doc) =>
      doc.toJS() as {
        kind: string;
        spec: { template: { spec: { containers: Container[] } } };
      },
  );
  const container = documents.find((doc) => doc.kind === 'Deployment')?.spec.template.spec
    .containers[0];
  if (container === undefined) throw new Error(`no Deployment container in ${file}`);
  return container;
}

/** The config file of manifests/base, written where the pod mounts it (a temp dir here). */
function configFile(): string {
  const configMap = parse(readFileSync(join(MANIFESTS, 'base', 'configmap.yaml'), 'utf8')) as {
    data: { 'config.yaml': string };
  };
  const file = join(tempDir('meshca-pod-config-'), 'config.yaml');
  writeFileSync(file, configMap.data['config.yaml']);
  return file;
}

/** The container's environment as the pod gets it: literal values, `file` for MESHCA_CONFIG. */
function podEnv(container: Container, file: string, extra: Record<string, string> = {}) {
  const env: Record<string, string> = {
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    POD_NAMESPACE: 'meshca',
    POD_NAME: 'meshca-0',
    ...extra,
  };
  for (const variable of container.env) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  if (env['MESHCA_CONFIG'] === IN_POD_CONFIG) env['MESHCA_CONFIG'] = file;
  return env;
}

describe('commands run in the pod', () => {
  const container = deploymentContainer(join('base', 'deployment.yaml'));

  it('tell the CLI where the config file is, the one serve reads', () => {
    expect(container.args).toEqual(['serve', '--config', IN_POD_CONFIG]);
    expect(container.env.find((variable) => variable.name === 'MESHCA_CONFIG')?.value).toBe(
      IN_POD_CONFIG,
    );
  });

  it.each([
    ['the base manifests (SQLite)', {}],
    [
      'the ledger-postgres overlay',
      {
        MESHCA_LEDGER: 'postgres://meshca@postgres.database.svc:5432/meshca',
        MESHCA_LEDGER_PASSWORD: 'from-the-secret',
        MESHCA_LEDGER_TLS_MODE: 'require',
      },
    ],
  ])('find the ledger serve writes, with %s', async (_what, secretEnv) => {
    const file = configFile();
    const env = podEnv(container, file, secretEnv);
    // serve's own arguments, with the file where this test wrote it.
    const argv = container.args.slice(1).map((arg) => (arg === IN_POD_CONFIG ? file : arg));
    const serve = await loadConfig({ argv, env, cwd: '/app' });
    // kubectl exec … inventory identities: no flag at all.
    const cli = await loadLedgerLocation({ flags: {}, env, cwd: '/app' });
    expect(cli.store).toEqual(serve.config.ledger.store);
    expect(cli.stateDir).toBe('/var/lib/meshca');
  });
});

describe('the image', () => {
  const containerfile = readFileSync(join(MANIFESTS, 'image', 'Containerfile'), 'utf8');

  it('builds the native addon of the default ledger (SQLite)', () => {
    const install = containerfile.split('\n').find((line) => line.includes('npm ci'));
    expect(install).toBeDefined();
    if (install?.includes('--ignore-scripts')) {
      expect(containerfile).toMatch(/npm rebuild better-sqlite3/);
    }
    expect(containerfile).toMatch(/apt-get install[^\n]*python3 make g\+\+/);
  });

  it('runs bin/meshca.js with the node of the base image, as the README exec line does', () => {
    expect(containerfile).toContain('ENTRYPOINT ["/nodejs/bin/node", "/app/bin/meshca.js"]');
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(
      'kubectl -n meshca exec deploy/meshca -- /nodejs/bin/node /app/bin/meshca.js inventory',
    );
  });
});
