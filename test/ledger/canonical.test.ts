import { canonicalJson, ChainWriter, recordHash, ZERO_HASH } from '../../src/ledger/index.js';
import { T0 } from './fixtures.js';

describe('canonicalJson', () => {
  it.each<[string, unknown, string]>([
    [
      'sorts keys at every depth',
      { b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } },
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    ],
    ['leaves out undefined members', { a: undefined, b: 'x' }, '{"b":"x"}'],
    ['escapes strings as JSON does', { 'k"': 'line\nbreak é' }, '{"k\\"":"line\\nbreak é"}'],
    ['keeps array order', [3, 1, 2], '[3,1,2]'],
    [
      'writes booleans and numbers plainly',
      [true, false, 0, -1.5, 1e21],
      '[true,false,0,-1.5,1e+21]',
    ],
    ['sorts by UTF-16 code units', { b: 1, B: 2, ä: 3, a: 4 }, '{"B":2,"a":4,"b":1,"ä":3}'],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
    // Whatever JSON.parse gives back serializes the same (what the verifier relies on).
    expect(canonicalJson(JSON.parse(expected))).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a function', () => 1],
    ['a bigint', 1n],
  ])('refuses %s', (_name, value) => {
    expect(() => canonicalJson({ value })).toThrow(TypeError);
  });
});

describe('ChainWriter', () => {
  const body = {
    type: 'finding',
    time: new Date(T0).toISOString(),
    cluster: null,
    kind: 'k',
    severity: 's',
    object: 'o',
    fingerprint: null,
    detail: null,
  } as const;

  it('numbers records from 1 and links each to the one before', () => {
    const chain = new ChainWriter('pod-a');
    const first = chain.next(body, T0, T0);
    const second = chain.next(body, T0, T0);
    expect([first.sequence, second.sequence]).toEqual([1, 2]);
    expect(first.prevHash).toBe(ZERO_HASH);
    expect(second.prevHash).toBe(first.hash);
    expect(first.hash).toBe(recordHash(first));
    expect(chain.head()).toEqual({
      chainId: chain.chainId,
      writer: 'pod-a',
      sequence: 2,
      hash: second.hash,
    });
  });

  it('lets a draft take its place only when committed', () => {
    const chain = new ChainWriter('pruner');
    const draft = chain.draft(body, T0, null);
    expect(chain.head().sequence).toBe(0);
    expect(chain.draft(body, T0, null).hash).toBe(draft.hash);
    chain.commit(draft);
    expect(chain.head().sequence).toBe(1);
    expect(() => {
      chain.commit(draft);
    }).toThrow(TypeError);
  });

  it('hashes every field: changing any one changes the hash', () => {
    const record = new ChainWriter('pod-a').next(body, T0, T0);
    const variants = [
      { ...record, sequence: 2 },
      { ...record, chainId: 'other' },
      { ...record, writer: 'pod-b' },
      { ...record, time: T0 + 1 },
      { ...record, keepUntil: null },
      { ...record, prevHash: 'f'.repeat(64) },
      { ...record, body: { ...body, object: 'p' } },
    ];
    for (const variant of variants) expect(recordHash(variant)).not.toBe(record.hash);
    // Two chains never share ids.
    expect(new ChainWriter('x').chainId).not.toBe(new ChainWriter('x').chainId);
  });
});
