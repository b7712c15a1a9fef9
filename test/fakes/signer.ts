/**
 * A fake {@link Signer}: answers with a recognisable, unparsed "certificate" (the service passes
 * what it gets through), or fails as told.
 */
import type { SignedCertificate, Signer, SigningRequest } from '../../src/ca/index.js';

/** The fake certificate's fields; PEM texts are placeholders the service must pass unchanged. */
export const FAKE_CERTIFICATE = {
  pem: '-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n',
  intermediatePem: '-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n',
  bundlePem: '-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n',
  serialHex: '0123456789abcdef',
  issuerFingerprint: 'ab'.repeat(32),
} as const;

/** Signs by fiat. */
export class FakeSigner implements Signer {
  /** When set, every call rejects with it. */
  failure: Error | undefined;
  /** What the signed certificate says about the CA cap. */
  cappedByCa = false;
  readonly calls: SigningRequest[] = [];
  /** The certificate's notBefore; notAfter is notBefore + ttlSeconds. */
  notBefore = new Date('2030-01-01T00:00:00Z');

  sign(request: SigningRequest): Promise<SignedCertificate> {
    this.calls.push(request);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.resolve({
      der: Buffer.from('leaf'),
      pem: FAKE_CERTIFICATE.pem,
      serialHex: FAKE_CERTIFICATE.serialHex,
      notBefore: this.notBefore,
      notAfter: new Date(this.notBefore.getTime() + request.ttlSeconds * 1000),
      intermediatePems: [FAKE_CERTIFICATE.intermediatePem],
      trustBundle: { roots: [], pem: FAKE_CERTIFICATE.bundlePem, fingerprints: [] },
      issuerFingerprint: FAKE_CERTIFICATE.issuerFingerprint,
      cappedByCa: this.cappedByCa,
    });
  }
}
