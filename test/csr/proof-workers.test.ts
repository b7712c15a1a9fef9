import { generateKeyPairSync, sign } from 'node:crypto';
import { ProofWorkerPool, type ProofJob } from '../../src/csr/index.js';
import { silentLogger } from '../../src/logger.js';

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ecJwk = ec.publicKey.export({ format: 'jwk' });
const rsaJwk = rsa.publicKey.export({ format: 'jwk' });

/** A job whose buffers are views into the middle of larger ones, as a request body's are. */
function job(index: number, valid: boolean): ProofJob {
  const data = Buffer.from(`certification request info #${index}`);
  const key = index % 2 === 0 ? ec : rsa;
  const signature = sign('sha256', valid ? data : Buffer.from('other'), key.privateKey);
  const body = Buffer.concat([Buffer.alloc(7, 0xee), data, signature, Buffer.alloc(5, 0xee)]);
  return {
    infoDer: body.subarray(7, 7 + data.length),
    signature: body.subarray(7 + data.length, 7 + data.length + signature.length),
    digest: 'sha256',
    jwk: index % 2 === 0 ? ecJwk : rsaJwk,
  };
}

describe('ProofWorkerPool', () => {
  it('answers each of many concurrent checks with its own outcome', async () => {
    const pool = new ProofWorkerPool({ threads: 2 }, silentLogger());
    try {
      await pool.start();
      const cases = Array.from({ length: 400 }, (_, index) => index % 3 !== 0);
      const outcomes = await Promise.all(
        cases.map((valid, index) => pool.verify(job(index, valid))),
      );
      expect(outcomes).toEqual(cases.map((valid) => (valid ? 'valid' : 'invalid-signature')));
    } finally {
      await pool.close();
    }
  });

  it('starts after checks already started its threads', async () => {
    const pool = new ProofWorkerPool({ threads: 2 }, silentLogger());
    try {
      await expect(pool.verify(job(0, true))).resolves.toBe('valid');
      await pool.start();
      await expect(pool.verify(job(1, true))).resolves.toBe('valid');
    } finally {
      await pool.close();
    }
  });

  it('reports a key that cannot be imported, and goes on', async () => {
    const pool = new ProofWorkerPool({ threads: 1 }, silentLogger());
    try {
      const offCurve = { ...job(0, true), jwk: { ...ecJwk, y: String(ecJwk.x) } };
      await expect(pool.verify(offCurve)).resolves.toBe('unreadable-key');
      await expect(pool.verify(job(2, true))).resolves.toBe('valid');
    } finally {
      await pool.close();
    }
  });

  it('fails only the batch of a thread that stops, and replaces the thread', async () => {
    // A program that stops on its first batch; its replacements stop too, so each check is
    // refused (never lost, never hung) and the pool keeps replacing threads.
    const pool = new ProofWorkerPool(
      {
        threads: 1,
        program: `require('node:worker_threads').parentPort.on('message', () => process.exit(3));`,
      },
      silentLogger(),
    );
    try {
      await expect(pool.verify(job(0, true))).rejects.toMatchObject({
        code: 'ERR_CSR_VERIFIER_UNAVAILABLE',
        message: expect.stringMatching(/stopped \(exit code 3\); retry/) as unknown,
      });
      await expect(pool.verify(job(2, true))).rejects.toMatchObject({
        code: 'ERR_CSR_VERIFIER_UNAVAILABLE',
      });
      expect(pool.replacedThreads).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.close();
    }
  });

  it('refuses checks once closed, with UNAVAILABLE', async () => {
    const pool = new ProofWorkerPool({ threads: 1 }, silentLogger());
    await pool.start();
    // Asked for in the same turn as the close: still queued, so refused rather than lost.
    const queued = pool.verify(job(0, true)).catch((error: unknown) => error);
    await pool.close();
    expect(await queued).toMatchObject({ code: 'ERR_CSR_VERIFIER_UNAVAILABLE' });
    await expect(pool.verify(job(2, true))).rejects.toMatchObject({
      code: 'ERR_CSR_VERIFIER_UNAVAILABLE',
      message: 'CSR verification is shutting down',
    });
    expect(pool.readiness()[0]?.check()).toBe('CSR verification threads stopped');
  });

  it('needs at least one thread', () => {
    expect(() => new ProofWorkerPool({ threads: 0 }, silentLogger())).toThrow(/at least one/);
  });
});
