/**
 * Helpers for integration tests against the real kube-apiserver that global-setup starts:
 * admin access, namespaces, service accounts, TokenRequest tokens, and kubeconfigs for a service
 * account so that meshca runs with exactly the RBAC the manifests grant.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { IN_CI, REPO_ROOT, kubeSkipReason, testKubeconfig } from './environment.js';
import { tempDir } from './tmp.js';

/** `describe`, or `describe.skip` (with a warning) when the API server is not available here. */
export function describeKube(name: string, body: () => void): void {
  const reason = kubeSkipReason();
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  if (IN_CI) throw new Error(`${name}: the real kube-apiserver is required in CI: ${reason}`);
  console.warn(`skipping "${name}": ${reason}`);
  describe.skip(name, body);
}

/** Admin access to the test cluster. */
export function adminKubeConfig(): k8s.KubeConfig {
  const path = testKubeconfig();
  if (path === undefined) throw new Error('no test kube-apiserver');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A unique, valid namespace name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Creates a namespace and waits until its default service account exists. */
export async function createNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
}

/** Creates a service account. */
export async function createServiceAccount(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
): Promise<void> {
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
}

/** Mints a token for a service account with TokenRequest, optionally bound to a pod. */
export async function requestToken(
  kc: k8s.KubeConfig,
  namespace: string,
  serviceAccount: string,
  options: { audiences: string[]; pod?: { name: string; uid: string }; expirationSeconds?: number },
): Promise<string> {
  const response = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: {
      spec: {
        audiences: options.audiences,
        expirationSeconds: options.expirationSeconds ?? 3600,
        ...(options.pod
          ? {
              boundObjectRef: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: options.pod.name,
                uid: options.pod.uid,
              },
            }
          : {}),
      },
    },
  });
  const token = response.status?.token;
  if (!token) throw new Error('TokenRequest returned no token');
  return token;
}

/** Creates a pod that never runs (there is no scheduler) on `nodeName`. */
export async function createPod(
  kc: k8s.KubeConfig,
  namespace: string,
  name: string,
  serviceAccount: string,
  nodeName = 'node-a',
): Promise<k8s.V1Pod> {
  return kc.makeApiClient(k8s.CoreV1Api).createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        serviceAccountName: serviceAccount,
        nodeName,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
      },
    },
  });
}

/**
 * Writes a kubeconfig that authenticates as a service account (with a TokenRequest token for the
 * API server's own audience), so a test can run meshca under exactly that account's RBAC.
 */
export async function serviceAccountKubeconfig(
  kc: k8s.KubeConfig,
  namespace: string,
  serviceAccount: string,
): Promise<string> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no cluster');
  const token = await requestToken(kc, namespace, serviceAccount, {
    audiences: ['https://kubernetes.default.svc.cluster.local'],
    expirationSeconds: 7200,
  });
  const path = join(tempDir('meshca-kubeconfig-'), 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: { server: cluster.server, 'certificate-authority': cluster.caFile },
      },
    ],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: serviceAccount } }],
    'current-context': 'test',
  };
  writeFileSync(path, JSON.stringify(config), { mode: 0o600 });
  return path;
}

/** Where a test's meshca runs and what it may touch. */
export interface MeshcaNamespaces {
  /** meshca's own namespace (its Lease, its CA Secret, its service account). */
  readonly meshca: string;
  /** The namespace standing in for istio-system (istiod-tls). */
  readonly istio: string;
  /** Label `meshca.test/run=<run>` selects the namespaces this test's meshca serves. */
  readonly run: string;
  /** A kubeconfig authenticating as meshca's service account, bound by the manifests' RBAC only. */
  readonly kubeconfig: string;
}

/**
 * Creates a meshca namespace and an istio namespace, meshca's service account, and the RBAC of
 * manifests/ (cluster-scoped objects renamed per test run, so that test files running in
 * parallel do not overwrite each other's bindings), and returns a kubeconfig for that account.
 */
export async function setupMeshcaNamespaces(kc: k8s.KubeConfig): Promise<MeshcaNamespaces> {
  const run = randomBytes(4).toString('hex');
  const meshca = `meshca-${run}`;
  const istio = `istio-${run}`;
  await createNamespace(kc, meshca);
  await createNamespace(kc, istio);
  await createServiceAccount(kc, meshca, 'meshca');
  const manifests = join(REPO_ROOT, 'manifests');
  await applyManifestRbac(kc, join(manifests, 'base', 'rbac.yaml'), {
    objectNamespace: meshca,
    meshcaNamespace: meshca,
    suffix: run,
  });
  await applyManifestRbac(kc, join(manifests, 'istiod', 'rbac.yaml'), {
    objectNamespace: istio,
    meshcaNamespace: meshca,
    suffix: run,
  });
  return { meshca, istio, run, kubeconfig: await serviceAccountKubeconfig(kc, meshca, 'meshca') };
}

/** The flags that point a test's meshca at its own namespaces. */
export function meshcaKubeArgs(namespaces: MeshcaNamespaces): string[] {
  return [
    '--kubeconfig',
    namespaces.kubeconfig,
    '--namespace',
    namespaces.meshca,
    '--istiod-namespace',
    namespaces.istio,
    '--trust-bundle-namespace-selector',
    `meshca.test/run=${namespaces.run}`,
  ];
}

/** Creates a namespace labelled for a test run's meshca. */
export async function createServedNamespace(
  kc: k8s.KubeConfig,
  namespaces: MeshcaNamespaces,
  name: string,
): Promise<void> {
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({
    body: { metadata: { name, labels: { 'meshca.test/run': namespaces.run } } },
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Applies an RBAC file of manifests/ as a deployment would: namespaced objects into
 * `objectNamespace`, service-account subjects in `meshcaNamespace`; cluster-scoped objects get
 * `-<suffix>` so that parallel test runs do not share them.
 */
export async function applyManifestRbac(
  kc: k8s.KubeConfig,
  file: string,
  placement: { objectNamespace: string; meshcaNamespace: string; suffix: string },
): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const object = document.toJS() as {
      kind: string;
      metadata: { name: string; namespace?: string };
      roleRef?: { kind: string; name: string };
      subjects?: { kind: string; namespace?: string }[];
    };
    for (const subject of object.subjects ?? []) {
      if (subject.kind === 'ServiceAccount') subject.namespace = placement.meshcaNamespace;
    }
    if (object.kind.startsWith('Cluster'))
      object.metadata.name = `${object.metadata.name}-${placement.suffix}`;
    if (object.roleRef?.kind === 'ClusterRole')
      object.roleRef.name = `${object.roleRef.name}-${placement.suffix}`;
    const namespace = placement.objectNamespace;
    const body = object as never;
    switch (object.kind) {
      case 'ClusterRole':
        await rbac.createClusterRole({ body });
        break;
      case 'ClusterRoleBinding':
        await rbac.createClusterRoleBinding({ body });
        break;
      case 'Role':
        await rbac.createNamespacedRole({ namespace, body });
        break;
      case 'RoleBinding':
        await rbac.createNamespacedRoleBinding({ namespace, body });
        break;
      default:
        throw new Error(`unexpected kind ${object.kind} in ${file}`);
    }
  }
}

/** For `.catch()` on a delete: an object that is gone already is fine, anything else is not. */
export function ignoreNotFound(error: unknown): void {
  if ((error as { code?: unknown }).code !== 404) throw error;
}
