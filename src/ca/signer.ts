/**
 * The signing role the issuance path talks to: "sign this key for this identity for this long".
 * It takes one consistent snapshot of the CA material (so a rotation mid-request cannot mix two
 * generations), computes the window with the CA cap (`validity.ts`) and signs.
 *
 * @module
 */
import type { Clock } from '../clock.js';
import type { CertificateAuthority, IssuedCertificate } from './authority.js';
import type { SubjectAltName } from './leaf-template.js';
import { validityWindow } from './validity.js';

/** One workload certificate to sign. */
export interface SigningRequest {
  /** SubjectPublicKeyInfo DER from the validated CSR. */
  readonly spkiDer: Buffer;
  readonly subjectAltNames: readonly SubjectAltName[];
  /** Lifetime from now, seconds, as decided; the CA's expiry may shorten it. */
  readonly ttlSeconds: number;
}

/** A signed certificate and whether the CA's expiry shortened it. */
export interface SignedCertificate extends IssuedCertificate {
  readonly cappedByCa: boolean;
}

/** Signs workload certificates. */
export interface Signer {
  /**
   * @throws `UnavailableError` `ERR_CA_NOT_READY` before CA material is loaded;
   * `InternalError` `ERR_CA_EXPIRED`, `ERR_SIGNING_FAILED`.
   */
  sign(request: SigningRequest): Promise<SignedCertificate>;
}

/** {@link Signer} with the current material of a {@link CertificateAuthority}. */
export class LocalIntermediateSigner implements Signer {
  readonly #authority: CertificateAuthority;
  readonly #backdateSeconds: number;
  readonly #clock: Clock;

  constructor(
    authority: CertificateAuthority,
    options: { readonly backdateSeconds: number },
    clock: Clock,
  ) {
    this.#authority = authority;
    this.#backdateSeconds = options.backdateSeconds;
    this.#clock = clock;
  }

  async sign(request: SigningRequest): Promise<SignedCertificate> {
    const authority = this.#authority.current();
    const window = validityWindow(
      { ttlSeconds: request.ttlSeconds, backdateSeconds: this.#backdateSeconds },
      this.#clock.now(),
      authority.material.notAfter,
    );
    const issued = await authority.issue({
      spkiDer: request.spkiDer,
      subjectAltNames: request.subjectAltNames,
      notBefore: window.notBefore,
      notAfter: window.notAfter,
    });
    return { ...issued, cappedByCa: window.cappedByCa };
  }
}
