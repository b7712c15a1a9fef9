/**
 * What one fuzz case is, and what every generator shares: a valid request to mutate, the
 * development token issuer's keys (to forge tokens that are wrong in exactly one way), and
 * helpers that encode requests and tokens byte by byte.
 */
import { createHmac, sign, type KeyObject } from 'node:crypto';
import type { status as Status } from '@grpc/grpc-js';
import type { ForgeKey } from '../../support/csr-forge.js';
import { requestBody, struct, structEntry, value } from '../../support/wire.js';

/** A gRPC status by name. */
export type StatusName = keyof typeof Status;

/** One hostile (or valid) request and what may come back. */
export interface FuzzCase {
  /** `family/kind`, for the summary and replays. */
  readonly name: string;
  /** The whole request body, as sent. */
  readonly body: Buffer;
  /** Request metadata. */
  readonly headers: Readonly<Record<string, string>>;
  /** The statuses this case may get; anything else is a failure. */
  readonly allowed: readonly StatusName[];
  /** Long client-supplied strings a status message must not quote beyond a short slice. */
  readonly probes?: readonly string[];
}

/** What the generators build cases from. */
export interface FuzzContext {
  /** Signs CSRs. */
  readonly key: ForgeKey;
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The identity of {@link token}. */
  readonly uri: string;
  /** A valid token for {@link uri}. */
  readonly token: string;
  /** The development issuer's signing key, its key ID, and its public key as PEM and JWK. */
  readonly issuerKey: KeyObject;
  readonly issuerKid: string;
  readonly issuerPublicPem: string;
  readonly issuerPublicJwk: string;
  readonly issuer: string;
  /** Keys the issuer does not have. */
  readonly otherEcKey: KeyObject;
  readonly otherRsaKey: KeyObject;
  /** A valid CSR for {@link uri}, as PEM and DER. */
  readonly csrPem: string;
  readonly csrDer: Buffer;
  /** Now, in seconds since the epoch. */
  readonly nowSeconds: number;
}

/** The metadata istio-agent sends: a bearer token and the cluster ID. */
export function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, clusterid: 'Kubernetes' };
}

/** istio-agent's `metadata` Struct: `{CertSigner: ""}`. */
export const AGENT_METADATA = struct(structEntry('CertSigner', value.string('')));

/** A request body with istio-agent's metadata unless other metadata is given. */
export function agentRequest(csr: string, metadata: Buffer = AGENT_METADATA): Buffer {
  return requestBody({ csr, metadata });
}

/** The valid request of `context`: the call every case is followed by. */
export function validCase(context: FuzzContext): FuzzCase {
  return {
    name: 'valid',
    body: agentRequest(context.csrPem),
    headers: authHeaders(context.token),
    allowed: ['OK'],
  };
}

/** How a forged token is signed. */
export type TokenSigner =
  | { readonly kind: 'issuer' }
  | { readonly kind: 'key'; readonly key: KeyObject; readonly alg: 'ES256' | 'RS256' }
  | { readonly kind: 'hmac'; readonly secret: string | Buffer; readonly alg: string }
  | { readonly kind: 'none' }
  | { readonly kind: 'raw'; readonly signature: string };

const b64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** A compact JWS from a header and claims given as objects (or raw JSON text). */
export function forgeToken(
  context: FuzzContext,
  header: Record<string, unknown> | string,
  claims: Record<string, unknown> | string,
  signer: TokenSigner,
): string {
  const encodedHeader = b64url(typeof header === 'string' ? header : JSON.stringify(header));
  const encodedClaims = b64url(typeof claims === 'string' ? claims : JSON.stringify(claims));
  const input = `${encodedHeader}.${encodedClaims}`;
  switch (signer.kind) {
    case 'issuer':
      return `${input}.${b64url(sign('sha256', Buffer.from(input), { key: context.issuerKey, dsaEncoding: 'ieee-p1363' }))}`;
    case 'key':
      return `${input}.${b64url(
        sign('sha256', Buffer.from(input), {
          key: signer.key,
          ...(signer.alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' as const } : {}),
        }),
      )}`;
    case 'hmac': {
      const digest = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[signer.alg] ?? 'sha256';
      return `${input}.${b64url(createHmac(digest, signer.secret).update(input).digest())}`;
    }
    case 'none':
      return `${input}.`;
    case 'raw':
      return `${input}.${signer.signature}`;
  }
}

/** The claims of a valid development token for `namespace/serviceAccount`. */
export function validClaims(
  context: FuzzContext,
  namespace = context.namespace,
  serviceAccount = context.serviceAccount,
): Record<string, unknown> {
  return {
    iss: context.issuer,
    sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    aud: ['istio-ca'],
    iat: context.nowSeconds,
    nbf: context.nowSeconds,
    exp: context.nowSeconds + 600,
    'kubernetes.io': {
      namespace,
      serviceaccount: { name: serviceAccount, uid: '00000000-0000-4000-8000-000000000000' },
    },
  };
}

/** The header of a valid development token. */
export function validHeader(context: FuzzContext): Record<string, unknown> {
  return { alg: 'ES256', typ: 'JWT', kid: context.issuerKid };
}
