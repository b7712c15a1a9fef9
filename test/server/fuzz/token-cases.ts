/**
 * Hostile bearer tokens, verified for real against the development issuer's JWKS: `alg: none`,
 * HMAC keyed with the issuer's public key, a wrong key, a wrong issuer or audience, expired, not
 * yet valid, claims that do not name a service account, malformed and huge tokens, and header
 * parameters that must never be followed (jku, x5u, an embedded jwk). Each with a valid CSR; a
 * few valid tokens for fresh identities keep the accepting path in the mix.
 */
import { forgeCsr } from '../../support/csr-forge.js';
import {
  agentRequest,
  authHeaders,
  forgeToken,
  validClaims,
  validHeader,
  type FuzzCase,
  type FuzzContext,
  type StatusName,
} from './cases.js';
import type { Random } from './random.js';

const REFUSED: readonly StatusName[] = ['UNAUTHENTICATED'];

function withToken(
  context: FuzzContext,
  kind: string,
  token: string,
  allowed: readonly StatusName[] = REFUSED,
  headers?: Record<string, string>,
): FuzzCase {
  return {
    name: `token/${kind}`,
    body: agentRequest(context.csrPem),
    headers: headers ?? authHeaders(token),
    allowed,
  };
}

/** One hostile token case. */
export function hostileTokenCase(context: FuzzContext, random: Random): FuzzCase {
  const header = validHeader(context);
  const claims = validClaims(context);
  const now = context.nowSeconds;
  const issuer = { kind: 'issuer' } as const;
  switch (random.int(16)) {
    case 0: {
      const alg = random.pick(['none', 'None', 'NONE', 'nOnE', '']);
      return withToken(
        context,
        'alg-none',
        forgeToken(context, { ...header, alg }, claims, { kind: 'none' }),
      );
    }
    case 1: {
      // The classic key confusion: HMAC with the issuer's public key as the secret.
      const secret = random.pick([
        context.issuerPublicPem,
        context.issuerPublicJwk,
        context.issuerKid,
      ]);
      const alg = random.pick(['HS256', 'HS384', 'HS512']);
      return withToken(
        context,
        'hmac-public-key',
        forgeToken(context, { ...header, alg }, claims, { kind: 'hmac', secret, alg }),
      );
    }
    case 2:
      return withToken(
        context,
        'wrong-key',
        random.chance(0.5)
          ? forgeToken(context, header, claims, {
              kind: 'key',
              key: context.otherEcKey,
              alg: 'ES256',
            })
          : forgeToken(context, { ...header, alg: 'RS256' }, claims, {
              kind: 'key',
              key: context.otherRsaKey,
              alg: 'RS256',
            }),
      );
    case 3: {
      const iss = random.pick([
        'https://kubernetes.default.svc',
        `${context.issuer}/`,
        '',
        'x'.repeat(5000),
      ]);
      return withToken(
        context,
        'wrong-issuer',
        forgeToken(context, header, { ...claims, iss }, issuer),
      );
    }
    case 4: {
      const aud = random.pick([['kubernetes'], 'istio-ca-x', [], ['ISTIO-CA'], [' istio-ca']]);
      return withToken(
        context,
        'wrong-audience',
        forgeToken(context, header, { ...claims, aud }, issuer),
      );
    }
    case 5: {
      // Past the 30 s tolerance.
      const exp = now - random.between(31, 10_000_000);
      return withToken(
        context,
        'expired',
        forgeToken(context, header, { ...claims, exp, iat: exp - 600, nbf: exp - 600 }, issuer),
      );
    }
    case 6: {
      const nbf = now + random.between(60, 10_000_000);
      return withToken(
        context,
        'not-yet-valid',
        forgeToken(context, header, { ...claims, nbf, exp: nbf + 600 }, issuer),
      );
    }
    case 7: {
      const [kind, broken, allowed] = random.pick<
        readonly [string, Record<string, unknown>, readonly StatusName[]]
      >([
        ['sub-mismatch', { ...claims, sub: 'system:serviceaccount:other:app' }, REFUSED],
        ['no-sub', { ...claims, sub: undefined }, REFUSED],
        ['no-exp', { ...claims, exp: undefined }, REFUSED],
        ['no-kubernetes-claim', { ...claims, 'kubernetes.io': undefined }, REFUSED],
        [
          'namespace-not-a-name',
          {
            ...claims,
            'kubernetes.io': { namespace: 'Default', serviceaccount: { name: 'app' } },
            sub: 'system:serviceaccount:Default:app',
          },
          REFUSED,
        ],
        [
          'namespace-with-slash',
          {
            ...claims,
            'kubernetes.io': { namespace: 'a/b', serviceaccount: { name: 'app' } },
            sub: 'system:serviceaccount:a/b:app',
          },
          REFUSED,
        ],
        ['kubernetes-claim-not-an-object', { ...claims, 'kubernetes.io': 'default' }, REFUSED],
        ['exp-not-a-number', { ...claims, exp: 'tomorrow' }, REFUSED],
        // Signed by the issuer and not expired: a JWT verifier accepts it (Kubernetes never
        // mints one); meshca must not break on a date beyond Date's range.
        ['exp-far-future', { ...claims, exp: 1e300 }, ['OK']],
      ]);
      return withToken(
        context,
        `claims-${kind}`,
        forgeToken(context, header, broken, issuer),
        allowed,
      );
    }
    case 8: {
      // Over meshca's 16 KiB token bound, or over the 32 KiB header list. Past the header
      // list bound the HTTP/2 layer refuses the stream before meshca sees it: Node answers
      // RST_STREAM ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED) or, for some sizes, INTERNAL_ERROR.
      const padding = 'x'.repeat(random.pick([17 * 1024, 30 * 1024, 40 * 1024]));
      const token = forgeToken(context, header, { ...claims, padding }, issuer);
      return withToken(
        context,
        'huge',
        token,
        token.length > 31 * 1024 ? ['RESOURCE_EXHAUSTED', 'INTERNAL'] : REFUSED,
      );
    }
    case 9: {
      const shape = random.pick([
        'a.b',
        'a.b.c.d',
        '..',
        '',
        '.',
        `${Buffer.from('not json').toString('base64url')}.${Buffer.from('{}').toString('base64url')}.x`,
        `eyJ${random.bytes(40).toString('base64url')}.eyJ${random.bytes(80).toString('base64url')}.${random.bytes(64).toString('base64url')}`,
        random.bytes(random.between(1, 3000)).toString('base64'),
      ]);
      return withToken(context, 'malformed', shape);
    }
    case 10: {
      const extra = random.pick<Record<string, unknown>>([
        { jku: 'https://attacker.invalid/jwks.json' },
        { x5u: 'https://attacker.invalid/cert.pem' },
        { jwk: JSON.parse(context.issuerPublicJwk) as unknown },
        { kid: '../../../../etc/passwd' },
        { kid: 'x'.repeat(2000) },
        { crit: ['exp'] },
        { b64: false, crit: ['b64'] },
      ]);
      // Signed by a key of the attacker's: only a server that follows the header would accept.
      return withToken(
        context,
        'header-parameters',
        forgeToken(context, { ...header, ...extra }, claims, {
          kind: 'key',
          key: context.otherEcKey,
          alg: 'ES256',
        }),
      );
    }
    case 11: {
      const valid = forgeToken(context, header, claims, issuer);
      const parts = valid.split('.');
      const signature = Buffer.from(parts[2] ?? '', 'base64url');
      const at = random.int(signature.length);
      signature[at] = (signature[at] ?? 0) ^ (1 + random.int(255));
      return withToken(
        context,
        'signature-changed',
        `${parts[0]}.${parts[1]}.${signature.toString('base64url')}`,
      );
    }
    case 12: {
      const value = random.pick([
        `bearer ${context.token}`,
        context.token,
        'Bearer ',
        'Bearer',
        `Basic ${context.token}`,
        `Bearer    `,
      ]);
      return withToken(context, 'authorization-header', '', REFUSED, {
        authorization: value,
        clusterid: 'Kubernetes',
      });
    }
    case 13:
      return withToken(context, 'unknown-cluster', '', REFUSED, {
        authorization: `Bearer ${context.token}`,
        clusterid: random.pick(['other', 'Kubernetes2', 'x'.repeat(3000)]),
      });
    case 14: {
      // A valid token of another identity than the CSR's: denied, not unauthenticated.
      const other = forgeToken(
        context,
        header,
        validClaims(context, 'default', random.label(12)),
        issuer,
      );
      return withToken(context, 'other-identity', other, ['PERMISSION_DENIED']);
    }
    default: {
      // Valid: a fresh identity, its own token and CSR.
      const serviceAccount = random.label(random.between(1, 40));
      const token = forgeToken(
        context,
        header,
        validClaims(context, 'default', serviceAccount),
        issuer,
      );
      return {
        name: 'token/valid-fresh-identity',
        body: agentRequest(
          forgeCsr(context.key, `spiffe://cluster.local/ns/default/sa/${serviceAccount}`),
        ),
        headers: authHeaders(token),
        allowed: ['OK'],
      };
    }
  }
}
