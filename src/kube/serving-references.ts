/**
 * Which Secrets an Ingress, an Istio Gateway or a Gateway API Gateway serves to TLS clients, read
 * from their raw objects.
 *
 * @module
 */
import type { ServingObject, ServingSource } from '../discovery/index.js';

/** The fields of the three kinds that name served Secrets. */
export interface RawServing {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly uid?: string;
  };
  readonly spec?: {
    /** Ingress. */
    readonly tls?: readonly { readonly secretName?: unknown }[];
    /** Istio Gateway. */
    readonly servers?: readonly {
      readonly tls?: { readonly credentialName?: unknown; readonly credentialNames?: unknown };
    }[];
    /** Gateway API Gateway. */
    readonly listeners?: readonly {
      readonly name?: string;
      readonly tls?: {
        readonly certificateRefs?: readonly {
          readonly group?: string;
          readonly kind?: string;
          readonly name?: unknown;
          readonly namespace?: string;
        }[];
      };
    }[];
  };
}

/**
 * The Secrets an Ingress (`spec.tls[].secretName`), Istio Gateway
 * (`spec.servers[].tls.credentialName(s)`) or Gateway API Gateway
 * (`spec.listeners[].tls.certificateRefs`, core Secrets only) serves.
 *
 * @param namespace The object's namespace: where its references point unless they say otherwise.
 */
export function servedSecrets(
  source: ServingSource,
  raw: RawServing,
  namespace: string,
): ServingObject['references'] {
  const references: { location: string; secret: { namespace: string; name: string } }[] = [];
  const spec = raw.spec ?? {};
  switch (source) {
    case 'ingresses':
      for (const [index, tls] of (spec.tls ?? []).entries()) {
        if (typeof tls.secretName === 'string' && tls.secretName !== '') {
          references.push({
            location: `spec.tls[${index}]`,
            secret: { namespace, name: tls.secretName },
          });
        }
      }
      break;
    case 'istio-gateways':
      // The Secret lives in the namespace of the gateway *workload*, which is usually the
      // Gateway's own; a `kubernetes-gateway://ns/name` or `ns/name` reference says otherwise.
      for (const [index, server] of (spec.servers ?? []).entries()) {
        const names = [
          server.tls?.credentialName,
          ...(Array.isArray(server.tls?.credentialNames)
            ? (server.tls.credentialNames as unknown[])
            : []),
        ];
        for (const credential of names) {
          if (typeof credential !== 'string' || credential === '') continue;
          const secret = istioCredential(credential, namespace);
          references.push({ location: `spec.servers[${index}].tls.credentialName`, secret });
        }
      }
      break;
    case 'gateway-api-gateways':
      for (const [index, listener] of (spec.listeners ?? []).entries()) {
        for (const [refIndex, ref] of (listener.tls?.certificateRefs ?? []).entries()) {
          if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret') continue;
          if (typeof ref.name !== 'string' || ref.name === '') continue;
          references.push({
            location: `spec.listeners[${listener.name ?? index}].tls.certificateRefs[${refIndex}]`,
            secret: { namespace: ref.namespace ?? namespace, name: ref.name },
          });
        }
      }
      break;
  }
  return references;
}

/** Istio's credential references: `name`, `kubernetes://name`, `kubernetes-gateway://ns/name`. */
function istioCredential(
  credential: string,
  namespace: string,
): { namespace: string; name: string } {
  const bare = credential.replace(/^kubernetes(-gateway)?:\/\//, '');
  const slash = bare.indexOf('/');
  return slash === -1
    ? { namespace, name: bare }
    : { namespace: bare.slice(0, slash), name: bare.slice(slash + 1) };
}
