/**
 * Proof of possession (RFC 2986 §3): a CSR is signed by the private key of the public key it
 * carries. Checking it means importing that key (for an EC key, OpenSSL checks the point is on
 * the curve) and verifying one signature: ~0.1 ms of CPU on the event loop for a P-256 key when
 * done from it, and a native key object per request whose clean-up lengthens full garbage
 * collections (measured: 2.5 µs each, 130 ms in one pause after a busy minute). So the check is a
 * seam with two implementations: {@link ThreadPoolProofVerifier} here (no threads of its own) and
 * `ProofWorkerPool` (worker threads, what `meshca serve` uses unless `csrVerifyThreads` is 0).
 * Both must answer alike; `test/csr/proof.test.ts` runs the same cases through both.
 *
 * @module
 */
import { createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

/** One proof-of-possession check. */
export interface ProofJob {
  /** The DER of `CertificationRequestInfo`, the bytes that were signed. */
  readonly infoDer: Uint8Array;
  readonly signature: Uint8Array;
  /** Node's digest name (`sha256`...), already checked against the key's algorithm. */
  readonly digest: string;
  /** The CSR's public key, already checked against the key policy. */
  readonly jwk: JsonWebKey;
}

/**
 * What the check found: the signature verifies; it does not; or the key itself cannot be
 * imported (an EC point off its curve, an RSA modulus OpenSSL refuses).
 */
export type ProofOutcome = 'valid' | 'invalid-signature' | 'unreadable-key';

/** Checks proofs of possession. */
export interface ProofVerifier {
  /**
   * @throws only when the check could not run at all (a verification thread stopped); a bad
   * signature or key is an outcome, not an error.
   */
  verify(job: ProofJob): Promise<ProofOutcome>;
}

/**
 * Imports the key on the event loop and verifies on libuv's thread pool (Node's asynchronous
 * `crypto.verify`): no thread of its own to start or stop.
 */
export class ThreadPoolProofVerifier implements ProofVerifier {
  verify(job: ProofJob): Promise<ProofOutcome> {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: job.jwk, format: 'jwk' });
    } catch {
      return Promise.resolve('unreadable-key');
    }
    return new Promise((resolve) => {
      verify(job.digest, job.infoDer, key, job.signature, (error, valid) => {
        resolve(error === null && valid ? 'valid' : 'invalid-signature');
      });
    });
  }
}
