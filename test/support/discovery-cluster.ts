/**
 * Planting certificates in the real test API server for discovery tests: the CRDs of cert-manager
 * (Issuer, ClusterIssuer), Istio (Gateway) and the Gateway API (Gateway), installed with
 * apiextensions.k8s.io/v1 and awaited until API discovery serves them; and small helpers that
 * create Secrets, Ingresses, Gateways, Issuers and webhook configurations as raw JSON.
 */
import type { KubeClient } from '../../src/kube/index.js';
import { KubeApiError } from '../../src/kube/index.js';
import { eventually } from './kube.js';

/** A CRD to install: served versions, the first one stored; any content allowed. */
interface CrdSpec {
  readonly group: string;
  readonly plural: string;
  readonly kind: string;
  readonly scope: 'Namespaced' | 'Cluster';
  readonly versions: readonly string[];
}

/** The third-party kinds discovery reads. */
export const DISCOVERY_CRDS: readonly CrdSpec[] = [
  {
    group: 'cert-manager.io',
    plural: 'issuers',
    kind: 'Issuer',
    scope: 'Namespaced',
    versions: ['v1'],
  },
  {
    group: 'cert-manager.io',
    plural: 'clusterissuers',
    kind: 'ClusterIssuer',
    scope: 'Cluster',
    versions: ['v1'],
  },
  {
    group: 'networking.istio.io',
    plural: 'gateways',
    kind: 'Gateway',
    scope: 'Namespaced',
    versions: ['v1beta1', 'v1alpha3'],
  },
  {
    group: 'gateway.networking.k8s.io',
    plural: 'gateways',
    kind: 'Gateway',
    scope: 'Namespaced',
    versions: ['v1', 'v1beta1'],
  },
];

const never = (): AbortSignal => AbortSignal.timeout(30_000);

/** Creates `body` at `path`; an object that already exists is left as it is. */
export async function create(client: KubeClient, path: string, body: unknown): Promise<unknown> {
  try {
    return await client.requestJson('POST', path, body, never());
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 409) return undefined;
    throw error;
  }
}

/** Installs {@link DISCOVERY_CRDS} and waits until each is established and discoverable. */
export async function installDiscoveryCrds(client: KubeClient): Promise<void> {
  for (const crd of DISCOVERY_CRDS) {
    const name = `${crd.plural}.${crd.group}`;
    await create(client, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name,
        // *.k8s.io groups are protected; the real Gateway API CRDs carry this approval.
        ...(crd.group.endsWith('.k8s.io')
          ? {
              annotations: {
                'api-approved.kubernetes.io':
                  'https://github.com/kubernetes-sigs/gateway-api/pull/1538',
              },
            }
          : {}),
      },
      spec: {
        group: crd.group,
        scope: crd.scope,
        names: {
          plural: crd.plural,
          singular: crd.kind.toLowerCase(),
          kind: crd.kind,
          listKind: `${crd.kind}List`,
        },
        versions: crd.versions.map((version, index) => ({
          name: version,
          served: true,
          storage: index === 0,
          schema: {
            openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
          },
        })),
      },
    });
    await eventually(
      `CRD ${name} established`,
      async () => {
        const status = (await client.requestJson(
          'GET',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
          undefined,
          never(),
        )) as { status?: { conditions?: { type: string; status: string }[] } };
        return status.status?.conditions?.some(
          (condition) => condition.type === 'Established' && condition.status === 'True',
        )
          ? true
          : undefined;
      },
      30_000,
    );
    for (const version of crd.versions) {
      await eventually(
        `${crd.group}/${version} discoverable`,
        async () => {
          const list = (await client.requestJson(
            'GET',
            `/apis/${crd.group}/${version}`,
            undefined,
            never(),
          )) as { resources?: { name: string }[] };
          return list.resources?.some((resource) => resource.name === crd.plural) === true
            ? true
            : undefined;
        },
        30_000,
      );
    }
  }
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Creates a Secret with `data` given as plain text. */
export async function createSecret(
  client: KubeClient,
  namespace: string,
  name: string,
  type: string,
  data: Record<string, string>,
): Promise<void> {
  await create(client, `/api/v1/namespaces/${namespace}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type,
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, b64(value)])),
  });
}

/** Creates an Ingress (networking.k8s.io/v1) with one TLS entry per Secret. */
export async function createIngress(
  client: KubeClient,
  namespace: string,
  name: string,
  secretNames: readonly string[],
): Promise<void> {
  await create(client, `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`, {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace },
    spec: {
      tls: secretNames.map((secretName) => ({ hosts: [`${name}.example.com`], secretName })),
      defaultBackend: { service: { name: 'web', port: { number: 80 } } },
    },
  });
}

/** Creates a namespaced custom object. */
export async function createCustom(
  client: KubeClient,
  apiVersion: string,
  plural: string,
  namespace: string | undefined,
  body: Record<string, unknown> & { kind: string; metadata: { name: string } },
): Promise<void> {
  const base = `/apis/${apiVersion}`;
  const path =
    namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${namespace}/${plural}`;
  await create(client, path, {
    apiVersion,
    ...body,
    metadata: { ...body.metadata, ...(namespace === undefined ? {} : { namespace }) },
  });
}

/**
 * Creates a ValidatingWebhookConfiguration with `caBundle` that can never be called: it matches
 * a group nobody serves and fails open, so that it cannot disturb other tests sharing the server.
 */
export async function createInertWebhook(
  client: KubeClient,
  name: string,
  caBundlePem: string,
): Promise<void> {
  await create(client, '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: `${name}.discovery-test.meshca.io`,
        clientConfig: { url: 'https://127.0.0.1:1/never', caBundle: b64(caBundlePem) },
        rules: [
          {
            apiGroups: ['discovery-test.meshca.io'],
            apiVersions: ['v1'],
            operations: ['CREATE'],
            resources: ['nothings'],
          },
        ],
        failurePolicy: 'Ignore',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 1,
      },
    ],
  });
}

/** Deletes a cluster-scoped object, ignoring a 404. */
export async function remove(client: KubeClient, path: string): Promise<void> {
  try {
    await client.requestJson('DELETE', path, undefined, never());
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 404)) throw error;
  }
}
