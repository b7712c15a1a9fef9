/**
 * Run in a child process by token-cache.test.ts: caches one token's verification, then reports
 * which of two strings survive in the V8 heap: that token (it must not), and a token this script
 * deliberately keeps (it must, showing that the search works). A fresh process keeps the heap
 * snapshot small and its cost independent of whatever else a test worker has loaded.
 *
 * Prints `{"cached":boolean,"retained":boolean}`.
 */
import { randomBytes } from 'node:crypto';
import { getHeapSnapshot } from 'node:v8';
import { CachingTokenVerifier, type TokenVerifier } from '../../src/auth/index.js';
import { FixedClock } from '../../src/clock.js';

/** Answers every token with the same facts and keeps no reference to the token. */
const inner: TokenVerifier = {
  method: 'jwt',
  verify: () =>
    Promise.resolve({
      namespace: 'bookinfo',
      serviceAccount: 'reviews',
      podName: undefined,
      podUid: undefined,
      expiresAt: undefined,
    }),
};

/** Which of `needles` occur in a V8 heap snapshot (taken after a full GC). */
async function heapContains(needles: readonly Buffer[]): Promise<boolean[]> {
  const found = needles.map(() => false);
  const overlap = Math.max(...needles.map((needle) => needle.length));
  let tail = Buffer.alloc(0);
  for await (const chunk of getHeapSnapshot()) {
    const window = Buffer.concat([
      tail,
      typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : (chunk as Buffer),
    ]);
    needles.forEach((needle, index) => {
      if (window.includes(needle)) found[index] = true;
    });
    tail = window.subarray(Math.max(0, window.length - overlap));
  }
  return found;
}

const cache = new CachingTokenVerifier(
  inner,
  { ttlMs: 60_000, staleTtlMs: 0, negativeTtlMs: 0, maxEntries: 10, verifyTimeoutMs: 5_000 },
  new FixedClock(new Date('2030-01-01T00:00:00Z')),
);
// The needles stay Buffers (off the V8 heap), so searching for them does not put them there.
const cachedToken = Buffer.from(randomBytes(48).toString('base64url'), 'latin1');
const retainedToken = Buffer.from(randomBytes(48).toString('base64url'), 'latin1');
await (async () => {
  await cache.verify(cachedToken.toString('latin1'), new AbortController().signal);
  await cache.verify(cachedToken.toString('latin1'), new AbortController().signal);
})();
if (cache.size !== 1) throw new Error(`expected one cached entry, found ${cache.size}`);
const retained = [retainedToken.toString('latin1')];
const [cached, kept] = await heapContains([cachedToken, retainedToken]);
process.stdout.write(JSON.stringify({ cached, retained: kept && retained.length === 1 }));
