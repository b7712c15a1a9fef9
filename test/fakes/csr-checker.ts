/**
 * A fake {@link CsrChecker}: accepts any CSR text for the identity it is asked about (with the
 * key and digest a test chose), or fails as told.
 */
import type { ValidatedCsr } from '../../src/csr/index.js';
import type { SpiffeId } from '../../src/identity/index.js';
import type { CsrChecker } from '../../src/server/index.js';

/** Validates by fiat. */
export class FakeCsrChecker implements CsrChecker {
  /** When set, every call rejects with it. */
  failure: Error | undefined;
  key: ValidatedCsr['key'] = { algorithm: 'EC', bits: 256, curve: 'P-256' };
  sha256 = 'c5'.repeat(32);
  readonly spkiDer = Buffer.from('fake SubjectPublicKeyInfo');
  readonly calls: { readonly pem: string; readonly identity: SpiffeId }[] = [];

  validate(pem: string, identity: SpiffeId): Promise<ValidatedCsr> {
    this.calls.push({ pem, identity });
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return Promise.resolve({ identity, spkiDer: this.spkiDer, key: this.key, sha256: this.sha256 });
  }
}
