/**
 * The development token issuer: with no cluster, `meshca serve` trusts a signing key it keeps in
 * its state directory, and `meshca token` mints Kubernetes-shaped service-account tokens with it
 * (same claims as a projected token: `sub`, `aud`, `exp`, `kubernetes.io`). The server verifies
 * them with the very same {@link JwtVerifier} path that checks a cluster's tokens against its JWKS.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignJWT, exportJWK, exportPKCS8, generateKeyPair, importPKCS8 } from 'jose';
import type { Clock } from '../clock.js';
import { KeyFilePermissionError, readPrivateKeyFile, writeFileAtomically } from '../util/index.js';

/** The `iss` of development tokens (RFC 2606 reserves `.invalid`, so it can never be real). */
export const DEV_TOKEN_ISSUER = 'https://meshca.invalid/dev-token-issuer';
const ALGORITHM = 'ES256';

/** Files of the development issuer. */
export interface DevTokenIssuerLayout {
  readonly privateKeyFile: string;
  readonly jwksFile: string;
}

/** The layout under `stateDir`. */
export function devTokenIssuerLayout(stateDir: string): DevTokenIssuerLayout {
  const dir = join(stateDir, 'token-issuer');
  return { privateKeyFile: join(dir, 'signing-key.pem'), jwksFile: join(dir, 'jwks.json') };
}

/** Creates the issuer's key and JWKS unless they exist; returns whether it created them. */
export async function ensureDevTokenIssuer(stateDir: string): Promise<boolean> {
  const layout = devTokenIssuerLayout(stateDir);
  try {
    await readFile(layout.privateKeyFile);
    await readFile(layout.jwksFile);
    return false;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey, publicKey } = await generateKeyPair(ALGORITHM, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: ALGORITHM, use: 'sig' };
  await mkdir(join(stateDir, 'token-issuer'), { recursive: true, mode: 0o700 });
  await writeFileAtomically(layout.privateKeyFile, await exportPKCS8(privateKey), 0o600);
  await writeFileAtomically(
    layout.jwksFile,
    `${JSON.stringify({ keys: [jwk] }, null, 2)}\n`,
    0o644,
  );
  return true;
}

/** What a development token says. */
export interface DevTokenClaims {
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly audiences: readonly string[];
  readonly ttlSeconds: number;
  /** Makes it a pod-bound token, as the kubelet's projected tokens are. */
  readonly pod?: { readonly name: string; readonly uid: string };
}

/**
 * Signs a token with the development issuer's key.
 *
 * @throws `Error` when the issuer does not exist yet (run `meshca serve` once first).
 */
export async function issueDevToken(
  stateDir: string,
  claims: DevTokenClaims,
  clock: Clock,
): Promise<string> {
  const layout = devTokenIssuerLayout(stateDir);
  let pem: string;
  let jwks: { keys: { kid?: string }[] };
  try {
    pem = await readPrivateKeyFile(layout.privateKeyFile);
    jwks = JSON.parse(await readFile(layout.jwksFile, 'utf8')) as typeof jwks;
  } catch (error) {
    if (error instanceof KeyFilePermissionError) throw error;
    throw new Error(
      `no development token issuer in ${stateDir}; run "meshca serve" once to create it`,
      { cause: error },
    );
  }
  const key = await importPKCS8(pem, ALGORITHM);
  const now = Math.floor(clock.now().getTime() / 1000);
  const kubernetes: Record<string, unknown> = {
    namespace: claims.namespace,
    serviceaccount: { name: claims.serviceAccount, uid: randomUUID() },
  };
  if (claims.pod) kubernetes['pod'] = { name: claims.pod.name, uid: claims.pod.uid };
  const jwt = new SignJWT({ 'kubernetes.io': kubernetes })
    .setProtectedHeader({
      alg: ALGORITHM,
      typ: 'JWT',
      ...(jwks.keys[0]?.kid ? { kid: jwks.keys[0].kid } : {}),
    })
    .setIssuer(DEV_TOKEN_ISSUER)
    .setSubject(`system:serviceaccount:${claims.namespace}:${claims.serviceAccount}`)
    .setAudience([...claims.audiences])
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + claims.ttlSeconds);
  return jwt.sign(key);
}
