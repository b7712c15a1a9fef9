/**
 * The crypto ceiling, measured by openssl on all cores in the same run: how many (CSR signature
 * verification + certificate signature) pairs per second the machine can do. Nothing meshca
 * does can issue faster than that, whatever its design.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** Operations per second, as `openssl speed -multi` sums them over processes. */
export interface CryptoSpeeds {
  readonly rsa2048Sign: number;
  readonly rsa2048Verify: number;
  readonly p256Sign: number;
  readonly p256Verify: number;
}

/** Runs `openssl speed` on every core (a few seconds per algorithm). */
export function measureCryptoSpeeds(seconds = 3): CryptoSpeeds {
  const output = execFileSync(
    'openssl',
    [
      'speed',
      '-seconds',
      String(seconds),
      '-multi',
      String(availableParallelism()),
      'rsa2048',
      'ecdsap256',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const rsa = /^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m.exec(output);
  const ec = /^\s*256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m.exec(output);
  if (rsa === null || ec === null) throw new Error(`unexpected openssl speed output:\n${output}`);
  return {
    rsa2048Sign: Number(rsa[1]),
    rsa2048Verify: Number(rsa[2]),
    p256Sign: Number(ec[1]),
    p256Verify: Number(ec[2]),
  };
}

/** Pairs per second of two operations run one after the other on the same cores. */
export function pairsPerSecond(first: number, second: number): number {
  return 1 / (1 / first + 1 / second);
}

/** `cryptoPerSec` for a CSR key type and an intermediate key type. */
export function cryptoPerSecond(
  speeds: CryptoSpeeds,
  csr: 'rsa' | 'ec',
  intermediate: 'rsa' | 'ec',
): number {
  const verify = csr === 'rsa' ? speeds.rsa2048Verify : speeds.p256Verify;
  const sign = intermediate === 'rsa' ? speeds.rsa2048Sign : speeds.p256Sign;
  return pairsPerSecond(verify, sign);
}

/** The composite ceiling: crypto and RPC costs added, 1/(1/crypto + 1/bare). */
export function compositeCeiling(cryptoPerSec: number, bareRpcPerSec: number): number {
  return pairsPerSecond(cryptoPerSec, bareRpcPerSec);
}
