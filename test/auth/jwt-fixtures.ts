/**
 * Signing keys, JWKS files and Kubernetes-shaped service-account tokens for the JWT tests
 * (fixtures built in code, STYLE.md).
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** A key pair with its public JWK. */
export interface SigningKey {
  readonly alg: 'ES256' | 'RS256';
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

/** A fresh signing key. */
export async function makeSigningKey(
  alg: SigningKey['alg'],
  kid: string = randomUUID(),
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Writes a JWKS file holding the public halves of `keys`. */
export async function writeJwks(path: string, keys: readonly SigningKey[]): Promise<void> {
  await writeFile(path, JSON.stringify({ keys: keys.map((key) => key.jwk) }));
}

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const AUDIENCE = 'istio-ca';

/** What a projected service-account token of a pod says, in seconds since the epoch. */
export interface TokenSpec {
  readonly now: number;
  readonly namespace?: string;
  readonly serviceAccount?: string;
  readonly pod?: { readonly name: string; readonly uid: string } | null;
  readonly iss?: string;
  readonly aud?: string | string[];
  readonly sub?: string;
  readonly exp?: number;
  readonly nbf?: number;
  /** Replaces the `kubernetes.io` claim; `null` leaves it out. */
  readonly kubernetes?: Record<string, unknown> | null;
  /** Signs with this key but names another kid in the header. */
  readonly kid?: string;
}

/** Signs a token the way the kube-apiserver shapes a projected token. */
export async function signToken(key: SigningKey, spec: TokenSpec): Promise<string> {
  const namespace = spec.namespace ?? 'bookinfo';
  const serviceAccount = spec.serviceAccount ?? 'reviews';
  const pod = spec.pod === undefined ? { name: 'reviews-v1-abc', uid: 'pod-uid-1' } : spec.pod;
  const kubernetes =
    spec.kubernetes === undefined
      ? {
          namespace,
          serviceaccount: { name: serviceAccount, uid: 'sa-uid-1' },
          ...(pod === null ? {} : { pod }),
        }
      : spec.kubernetes;
  const jwt = new SignJWT(kubernetes === null ? {} : { 'kubernetes.io': kubernetes })
    .setProtectedHeader({ alg: key.alg, kid: spec.kid ?? key.kid })
    .setIssuer(spec.iss ?? ISSUER)
    .setSubject(spec.sub ?? `system:serviceaccount:${namespace}:${serviceAccount}`)
    .setAudience(spec.aud ?? [AUDIENCE])
    .setIssuedAt(spec.now)
    .setExpirationTime(spec.exp ?? spec.now + 3600);
  if (spec.nbf !== undefined) jwt.setNotBefore(spec.nbf);
  return jwt.sign(key.privateKey);
}
