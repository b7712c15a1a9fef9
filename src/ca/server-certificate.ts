/**
 * Certificates for servers meshca runs or feeds (its own gRPC listener, istiod): the validity
 * window and the renewal point, shared so that both follow the same rules.
 *
 * @module
 */
import type { KeyObject } from 'node:crypto';
import type { IssuedCertificate, SigningAuthority } from './authority.js';
import type { SubjectAltName } from './leaf-template.js';
import { validityWindow } from './validity.js';

/** What a server certificate says. */
export interface ServerCertificateRequest {
  readonly publicKey: KeyObject;
  readonly subjectAltNames: readonly SubjectAltName[];
  readonly ttlSeconds: number;
  /** How far notBefore is moved back, for clock skew. */
  readonly backdateSeconds: number;
}

/**
 * Issues a server certificate valid for `ttlSeconds` from `now` (whole seconds, as X.509 times
 * are), never past the CA's own expiry (`validity.ts`).
 */
export async function issueServerCertificate(
  authority: SigningAuthority,
  request: ServerCertificateRequest,
  now: Date,
): Promise<IssuedCertificate> {
  const window = validityWindow(request, now, authority.material.notAfter);
  return await authority.issue({
    spkiDer: request.publicKey.export({ type: 'spki', format: 'der' }),
    subjectAltNames: request.subjectAltNames,
    notBefore: window.notBefore,
    notAfter: window.notAfter,
  });
}

/**
 * When to renew: two thirds into the lifetime counted from issuance (notBefore without the
 * backdate). Counting from the backdated notBefore, a lifetime shorter than twice the backdate
 * would be due for renewal the moment it is issued, forever.
 */
export function renewalTime(notBefore: Date, notAfter: Date, backdateSeconds: number): Date {
  const issuedMs = Math.min(notBefore.getTime() + backdateSeconds * 1000, notAfter.getTime());
  return new Date(issuedMs + ((notAfter.getTime() - issuedMs) * 2) / 3);
}
