/**
 * The deployment manifests say what the README promises: a namespace-agnostic Deployment with 2
 * replicas, anti-affinity, probes on the ops port, resource requests, non-root and read-only;
 * a Service on 443; a PodDisruptionBudget; RBAC limited to the verbs meshca uses; a config file
 * that meshca itself accepts; and the Istio settings that point istiod and the proxies at it.
 * (The RBAC is also exercised for real: every integration test runs meshca under it.)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { REPO_ROOT } from '../support/environment.js';
import { removeTempDirs, tempDir } from '../support/tmp.js';

const MANIFESTS = join(REPO_ROOT, 'manifests');

type Doc = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; namespace?: string };
};

function load(file: string): Doc[] {
  return parseAllDocuments(readFileSync(join(MANIFESTS, file), 'utf8')).map(
    (doc) => doc.toJS() as Doc,
  );
}

function kustomization(dir: string): { namespace?: string; resources: string[] } {
  return parse(readFileSync(join(MANIFESTS, dir, 'kustomization.yaml'), 'utf8')) as {
    namespace?: string;
    resources: string[];
  };
}

afterAll(removeTempDirs);

/** `group/resource[names]:verb` for every verb a Role or ClusterRole grants. */
function rules(doc: Doc): string[] {
  return (
    doc['rules'] as {
      apiGroups: string[];
      resources: string[];
      verbs: string[];
      resourceNames?: string[];
    }[]
  ).flatMap((rule) =>
    rule.resources.flatMap((resource) =>
      rule.verbs.map(
        (verb) =>
          `${rule.apiGroups.join(',') || 'core'}/${resource}${rule.resourceNames ? `[${rule.resourceNames.join(',')}]` : ''}:${verb}`,
      ),
    ),
  );
}

describe('manifests/', () => {
  const base = kustomization('base');
  const objects = base.resources.flatMap((file) => load(join('base', file)));
  const byKind = (kind: string): Doc[] => objects.filter((object) => object.kind === kind);

  it('lists every file of each kustomization, and each sets its own namespace', () => {
    expect(kustomization('.').resources).toEqual(['namespace.yaml', 'base', 'istiod']);
    expect(base.namespace).toBe('meshca');
    expect(kustomization('istiod').namespace).toBe('istio-system');
    for (const object of objects) expect(object.metadata.namespace).toBeUndefined();
  });

  it('runs 2 replicas spread over nodes, probed, bounded, non-root and read-only', () => {
    const [deployment] = byKind('Deployment') as unknown as [
      {
        spec: {
          replicas: number;
          template: {
            spec: {
              affinity: { podAntiAffinity: unknown };
              securityContext: { runAsNonRoot: boolean; seccompProfile: { type: string } };
              containers: {
                args: string[];
                env: { name: string }[];
                readinessProbe: { httpGet: { path: string; port: string } };
                livenessProbe: { httpGet: { path: string; port: string } };
                resources: {
                  requests: { cpu: string; memory: string };
                  limits: { memory: string };
                };
                securityContext: {
                  readOnlyRootFilesystem: boolean;
                  allowPrivilegeEscalation: boolean;
                  capabilities: { drop: string[] };
                };
                ports: { name: string; containerPort: number }[];
              }[];
            };
          };
        };
      },
    ];
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.affinity.podAntiAffinity).toBeDefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.seccompProfile.type).toBe('RuntimeDefault');
    expect(container?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-ops' });
    expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-ops' });
    expect(container?.resources.requests.cpu).toBeDefined();
    expect(container?.resources.requests.memory).toBeDefined();
    expect(container?.ports.map((port) => [port.name, port.containerPort])).toEqual([
      ['grpc', 6443],
      ['http-ops', 9402],
    ]);
    expect(container?.env.map((variable) => variable.name)).toEqual(
      expect.arrayContaining(['POD_NAME', 'POD_NAMESPACE']),
    );
    expect(container?.args).toEqual(['serve', '--config', '/etc/meshca/config.yaml']);
  });

  it('exposes the CA on 443 (global.caAddress meshca.meshca.svc:443) and keeps one replica up', () => {
    const [service] = byKind('Service') as unknown as [
      { spec: { ports: { name: string; port: number; targetPort: string }[] } },
    ];
    expect(service.spec.ports).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'grpc', port: 443, targetPort: 'grpc' }),
      ]),
    );
    const [pdb] = byKind('PodDisruptionBudget') as unknown as [{ spec: { minAvailable: number } }];
    expect(pdb.spec.minAvailable).toBe(1);
  });

  it('grants exactly the verbs meshca uses', () => {
    const [clusterRole] = byKind('ClusterRole');
    const [role] = byKind('Role');
    const [istiodRole] = load('istiod/rbac.yaml').filter((doc) => doc.kind === 'Role');
    expect(rules(clusterRole!).sort()).toEqual(
      [
        'authentication.k8s.io/tokenreviews:create',
        'core/namespaces:get',
        'core/namespaces:list',
        'core/namespaces:watch',
        'core/configmaps[istio-ca-root-cert,istio-ca-crl]:list',
        'core/configmaps[istio-ca-root-cert,istio-ca-crl]:watch',
        'core/configmaps[istio-ca-root-cert,istio-ca-crl]:update',
        'core/configmaps[istio-ca-root-cert,istio-ca-crl]:delete',
        'core/configmaps:create',
        'core/pods:get',
        'core/pods:list',
        'core/pods:watch',
        'networking.k8s.io/ingresses:list',
        'networking.k8s.io/ingresses:watch',
      ].sort(),
    );
    expect(rules(role!).sort()).toEqual(
      [
        'coordination.k8s.io/leases[meshca]:get',
        'coordination.k8s.io/leases[meshca]:update',
        'coordination.k8s.io/leases:create',
        'core/secrets[cacerts]:list',
        'core/secrets[cacerts]:watch',
        'core/configmaps[meshca-policy-central,meshca-policy-local]:list',
        'core/configmaps[meshca-policy-central,meshca-policy-local]:watch',
      ].sort(),
    );
    expect(rules(istiodRole!).sort()).toEqual(
      [
        'core/secrets[istiod-tls]:list',
        'core/secrets[istiod-tls]:watch',
        'core/secrets[istiod-tls]:update',
        'core/secrets:create',
      ].sort(),
    );
  });

  it('keeps the Gateway kinds a policy may require in an opt-in overlay, bound to meshca', () => {
    expect(kustomization('.').resources).not.toContain('policy');
    expect(kustomization('policy').resources).toEqual(['rbac.yaml']);
    const overlay = load('policy/rbac.yaml');
    const [role] = overlay.filter((doc) => doc.kind === 'ClusterRole');
    expect(rules(role!).sort()).toEqual(
      [
        'networking.istio.io,gateway.networking.k8s.io/gateways:list',
        'networking.istio.io,gateway.networking.k8s.io/gateways:watch',
      ].sort(),
    );
    const [binding] = overlay.filter((doc) => doc.kind === 'ClusterRoleBinding');
    expect(binding).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: role!.metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: 'meshca', namespace: 'meshca' }],
    });
  });

  it('ships a config file meshca accepts as it would run in the pod', async () => {
    const [configMap] = byKind('ConfigMap') as unknown as [{ data: { 'config.yaml': string } }];
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(file, configMap.data['config.yaml']);
    const { config, warnings } = await loadConfig({
      argv: ['--config', file],
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', POD_NAMESPACE: 'meshca', POD_NAME: 'meshca-0' },
      cwd: '/',
    });
    expect(warnings).toEqual([]);
    expect(config.mode).toBe('production');
    expect(config.kube).toEqual({ mode: 'in-cluster' });
    expect(config.ca.source).toEqual({ kind: 'secret', namespace: 'meshca', name: 'cacerts' });
    expect(config.serving.dnsNames).toContain('meshca.meshca.svc');
    expect(config.kubernetes?.trustBundle.configMapName).toBe('istio-ca-root-cert');
    expect(config.kubernetes?.istiod.secretName).toBe('istiod-tls');
    expect(config.kubernetes?.leaderElection.name).toBe('meshca');
  });

  it('ships the policy settings commented out, matching the keys mount and the RBAC', async () => {
    const [configMap] = byKind('ConfigMap') as unknown as [{ data: { 'config.yaml': string } }];
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(file, configMap.data['config.yaml'].replace(/^(\s*)# (policy\w+:)/gm, '$1$2'));
    const { config } = await loadConfig({
      argv: ['--config', file],
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', POD_NAMESPACE: 'meshca', POD_NAME: 'meshca-0' },
      cwd: '/',
    });
    expect(config.policy).toEqual({
      central: { kind: 'configmap', namespace: 'meshca', name: 'meshca-policy-central' },
      local: { kind: 'configmap', namespace: 'meshca', name: 'meshca-policy-local' },
      signingKeys: ['/etc/meshca-policy-keys/security-team.pub'],
      reloadIntervalMs: 10_000,
    });
    const [deployment] = byKind('Deployment') as unknown as [
      {
        spec: {
          template: {
            spec: {
              containers: { volumeMounts: { name: string; mountPath: string }[] }[];
              volumes: { name: string; configMap?: { name: string; optional?: boolean } }[];
            };
          };
        };
      },
    ];
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0]?.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'policy-keys', mountPath: '/etc/meshca-policy-keys' }),
    );
    expect(pod.volumes).toContainEqual({
      name: 'policy-keys',
      configMap: { name: 'meshca-policy-keys', optional: true },
    });
    const [role] = byKind('Role');
    expect(rules(role!)).toEqual(
      expect.arrayContaining(['core/configmaps[meshca-policy-central,meshca-policy-local]:watch']),
    );
  });

  it('keeps the ledger in a volume of its own, and in PostgreSQL with the ledger-postgres overlay', async () => {
    const [configMap] = byKind('ConfigMap') as unknown as [{ data: { 'config.yaml': string } }];
    const settings = parse(configMap.data['config.yaml']) as { stateDir: string };
    const [deployment] = byKind('Deployment') as unknown as [
      {
        spec: {
          template: {
            spec: {
              containers: { volumeMounts: { name: string; mountPath: string }[] }[];
              volumes: { name: string; emptyDir?: { sizeLimit: string } }[];
            };
          };
        };
      },
    ];
    const pod = deployment.spec.template.spec;
    const mount = pod.containers[0]?.volumeMounts.find((m) => m.mountPath === settings.stateDir);
    expect(pod.volumes.find((volume) => volume.name === mount?.name)?.emptyDir).toBeDefined();

    const overlay = kustomization('ledger-postgres') as unknown as {
      resources: string[];
      patches: { path: string }[];
    };
    expect(overlay.resources).toEqual(['../base']);
    const [patch] = load(join('ledger-postgres', overlay.patches[0]?.path ?? '')) as unknown as [
      {
        metadata: { name: string };
        spec: {
          template: {
            spec: {
              containers: {
                name: string;
                env: {
                  name: string;
                  value?: string;
                  valueFrom?: { secretKeyRef: { name: string; key: string } };
                }[];
              }[];
            };
          };
        };
      },
    ];
    expect(patch.metadata.name).toBe('meshca');
    const env = patch.spec.template.spec.containers[0]?.env ?? [];
    expect(
      env.map((variable) => [variable.name, variable.valueFrom?.secretKeyRef ?? variable.value]),
    ).toEqual([
      ['MESHCA_LEDGER', { name: 'meshca-ledger', key: 'url' }],
      ['MESHCA_LEDGER_PASSWORD', { name: 'meshca-ledger', key: 'password' }],
      ['MESHCA_LEDGER_TLS_MODE', 'require'],
    ]);
    // What meshca makes of it in the pod, with the Secret's values.
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(file, configMap.data['config.yaml']);
    const { config, warnings } = await loadConfig({
      argv: ['--config', file],
      env: {
        KUBERNETES_SERVICE_HOST: '10.96.0.1',
        POD_NAMESPACE: 'meshca',
        POD_NAME: 'meshca-0',
        MESHCA_LEDGER: 'postgres://meshca@postgres.database.svc:5432/meshca',
        MESHCA_LEDGER_PASSWORD: 'from-the-secret',
        MESHCA_LEDGER_TLS_MODE: 'require',
      },
      cwd: '/',
    });
    expect(warnings).toEqual([]);
    expect(config.ledger.store).toMatchObject({
      kind: 'postgres',
      url: 'postgres://meshca@postgres.database.svc:5432/meshca',
      tls: { mode: 'require' },
    });
    expect(config.ledger.writer).toBe('meshca-0');
    expect(config.ledger.spoolPath).toBe(`${settings.stateDir}/ledger-spool.jsonl`);
  });

  it('points Istio at meshca with its own CA off', () => {
    const [operator] = load('istio/istio-operator.yaml') as unknown as [
      {
        spec: {
          values: {
            global: Record<string, string>;
            pilot: { env: Record<string, string> };
            ztunnel: Record<string, string>;
          };
        };
      },
    ];
    expect(operator.spec.values.global).toMatchObject({
      caAddress: 'meshca.meshca.svc:443',
      pilotCertProvider: 'istiod',
    });
    expect(operator.spec.values.pilot.env['ENABLE_CA_SERVER']).toBe('false');
    expect(operator.spec.values.ztunnel['caAddress']).toBe('meshca.meshca.svc:443');
    const istiod = parse(readFileSync(join(MANIFESTS, 'istio', 'istiod-values.yaml'), 'utf8')) as {
      global: Record<string, string>;
      pilot: { env: Record<string, string> };
    };
    expect(istiod.global['caAddress']).toBe('meshca.meshca.svc:443');
    expect(istiod.pilot.env['ENABLE_CA_SERVER']).toBe('false');
  });
});
