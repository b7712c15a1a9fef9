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
import { kubeSkipReason, testKubeconfig, IN_CI } from './environment.js';
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

/**
 * Applies the RBAC of manifests/base/rbac.yaml (with `namespace` for the service account), so the
 * test runs meshca with exactly the permissions a deployment grants.
 */
export async function applyManifestRbac(
  kc: k8s.KubeConfig,
  namespace: string,
  file: string,
): Promise<void> {
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  for (const document of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const object = document.toJS() as {
      kind: string;
      metadata: { name: string; namespace?: string };
    } & Record<string, unknown>;
    const json = JSON.stringify(object).replaceAll(
      '"namespace":"meshca"',
      `"namespace":"${namespace}"`,
    );
    const body = JSON.parse(json) as never;
    switch (object.kind) {
      case 'ClusterRole':
        await upsert(
          () => rbac.createClusterRole({ body: body }),
          () => rbac.replaceClusterRole({ name: object.metadata.name, body: body }),
        );
        break;
      case 'ClusterRoleBinding':
        await upsert(
          () => rbac.createClusterRoleBinding({ body: body }),
          () => rbac.replaceClusterRoleBinding({ name: object.metadata.name, body: body }),
        );
        break;
      case 'Role':
        await upsert(
          () => rbac.createNamespacedRole({ namespace, body: body }),
          () => rbac.replaceNamespacedRole({ namespace, name: object.metadata.name, body: body }),
        );
        break;
      case 'RoleBinding':
        await upsert(
          () => rbac.createNamespacedRoleBinding({ namespace, body: body }),
          () =>
            rbac.replaceNamespacedRoleBinding({
              namespace,
              name: object.metadata.name,
              body: body,
            }),
        );
        break;
      default:
        throw new Error(`unexpected kind ${object.kind} in ${file}`);
    }
  }
}

async function upsert(
  create: () => Promise<unknown>,
  replace: () => Promise<unknown>,
): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 409) await replace();
    else throw error;
  }
}
