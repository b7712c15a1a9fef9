/**
 * A seeded pseudo-random generator (sfc32) for the fuzz run: the same seed gives the same cases,
 * in any order and at any concurrency, because every case draws from its own stream
 * ({@link caseRandom}).
 */

/** Random choices from one stream. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t / 2 ** 32;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max]. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new TypeError('pick from an empty list');
    return item;
  }

  /** `count` random bytes. */
  bytes(count: number): Buffer {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i++) out[i] = this.int(256);
    return out;
  }

  /** A lowercase DNS-1123 label of `length` characters. */
  label(length: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    let text = String.fromCharCode(97 + this.int(26));
    while (text.length < length) text += alphabet.charAt(this.int(alphabet.length));
    return text;
  }
}

/** The stream of case `index` of a run with `seed`. */
export function caseRandom(seed: number, index: number): Random {
  return new Random((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

/** A seed from `FUZZ_SEED`, or a fresh one. */
export function runSeed(value: string | undefined, fresh: () => number): number {
  if (value === undefined || value === '') return fresh() >>> 0;
  const seed = Number(value);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new TypeError(`FUZZ_SEED must be an integer from 0 to 4294967295, not ${value}`);
  }
  return seed;
}
