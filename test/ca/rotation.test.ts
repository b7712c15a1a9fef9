/**
 * The staged-rotation guard rails on their own: what RotationHistory remembers and, for each
 * change of CA material, whether rotationRefusal lets it through now.
 */
import {
  RotationHistory,
  loadCaMaterial,
  rotationRefusal,
  type CaMaterial,
} from '../../src/ca/index.js';
import { HOUR } from './fixtures.js';
import { rotationStages, type RotationStages } from './rotation-fixtures.js';

const MAX_LEAF_MS = HOUR;
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (offsetMs: number): Date => new Date(T0.getTime() + offsetMs);

describe('rotation guard rails', () => {
  let stages: RotationStages;
  const material = (name: keyof Omit<RotationStages, 'a' | 'b'>): CaMaterial =>
    loadCaMaterial(stages[name], T0);

  beforeAll(async () => {
    stages = await rotationStages(T0);
  });

  describe('RotationHistory', () => {
    it('takes the roots meshca starts with as published one leaf lifetime ago and used for one more', () => {
      const history = new RotationHistory(MAX_LEAF_MS);
      const current = material('aBoth');
      history.installed(current, T0, true);
      for (const fingerprint of current.trustBundle.fingerprints) {
        expect(history.publishedSince(fingerprint)).toEqual(at(-MAX_LEAF_MS));
        expect(history.usedUntil(fingerprint)).toEqual(at(MAX_LEAF_MS));
      }
    });

    it('records roots added later as published from then, and forgets dropped ones', () => {
      const history = new RotationHistory(MAX_LEAF_MS);
      history.installed(material('aOnly'), T0, true);
      history.installed(material('aBoth'), at(10_000), false);
      const rootB = stages.b.root.cert.sha256;
      const rootA = stages.a.root.cert.sha256;
      expect(history.publishedSince(rootB)).toEqual(at(10_000));
      // Installing again does not reset "published since".
      history.installed(material('bBoth'), at(20_000), false);
      expect(history.publishedSince(rootB)).toEqual(at(10_000));
      history.installed(material('bOnly'), at(30_000), false);
      expect(history.publishedSince(rootA)).toBeUndefined();
    });

    it('keeps the latest "used until"', () => {
      const history = new RotationHistory(MAX_LEAF_MS);
      history.used('root', at(5000));
      history.used('root', at(1000));
      expect(history.usedUntil('root')).toEqual(at(5000));
      history.used('root', at(9000));
      expect(history.usedUntil('root')).toEqual(at(9000));
    });
  });

  describe('rotationRefusal', () => {
    type Stage = 'aOnly' | 'aBoth' | 'bBoth' | 'bOnly';
    interface Case {
      readonly name: string;
      /** Installed in order: the first as the starting material, the others later. */
      readonly history: readonly { readonly stage: Stage; readonly atMs: number }[];
      /** Certificates chaining to A may be valid until then (leaves A signed). */
      readonly aUsedUntilMs?: number;
      readonly next: Stage;
      readonly nowMs: number;
      readonly refusal: RegExp | undefined;
    }
    const cases: readonly Case[] = [
      {
        name: 'the same material',
        history: [{ stage: 'aOnly', atMs: 0 }],
        next: 'aOnly',
        nowMs: 1000,
        refusal: undefined,
      },
      {
        name: 'stage 1: publishing the new root while signing with the old intermediate',
        history: [{ stage: 'aOnly', atMs: 0 }],
        next: 'aBoth',
        nowMs: 1000,
        refusal: undefined,
      },
      {
        name: 'skipping stage 1: the new intermediate under a root workloads do not trust',
        history: [{ stage: 'aOnly', atMs: 0 }],
        next: 'bBoth',
        nowMs: 1000,
        refusal:
          /chains to root ".*CN=B root".*which is not in the trust bundle workloads have now/,
      },
      {
        name: 'skipping every stage: new intermediate and only the new root',
        history: [{ stage: 'aOnly', atMs: 0 }],
        next: 'bOnly',
        nowMs: 1000,
        refusal: /not in the trust bundle workloads have now/,
      },
      {
        name: 'stage 3 too early: the new root published for less than a leaf lifetime',
        history: [
          { stage: 'aOnly', atMs: 0 },
          { stage: 'aBoth', atMs: 1000 },
        ],
        next: 'bBoth',
        nowMs: 1000 + MAX_LEAF_MS - 1,
        refusal: /published only since .*switch the intermediate after that/,
      },
      {
        name: 'stage 3 on time: one leaf lifetime after publishing',
        history: [
          { stage: 'aOnly', atMs: 0 },
          { stage: 'aBoth', atMs: 1000 },
        ],
        next: 'bBoth',
        nowMs: 1000 + MAX_LEAF_MS,
        refusal: undefined,
      },
      {
        name: 'stages 3 and 4 at once: dropping the root the current intermediate chains to',
        history: [
          { stage: 'aOnly', atMs: 0 },
          { stage: 'aBoth', atMs: 1000 },
        ],
        next: 'bOnly',
        nowMs: 1000 + MAX_LEAF_MS,
        refusal: /drops root ".*CN=A root".*which the current intermediate chains to/,
      },
      {
        name: 'stage 4 too early: leaves under the old root still valid',
        history: [
          { stage: 'aOnly', atMs: 0 },
          { stage: 'aBoth', atMs: 1000 },
          { stage: 'bBoth', atMs: 1000 + MAX_LEAF_MS },
        ],
        aUsedUntilMs: 1000 + 2 * MAX_LEAF_MS,
        next: 'bOnly',
        nowMs: 1000 + 2 * MAX_LEAF_MS - 1,
        refusal: /drops root ".*CN=A root".*certificates issued under it are valid until/,
      },
      {
        name: 'stage 4 on time: the last leaves under the old root expired',
        history: [
          { stage: 'aOnly', atMs: 0 },
          { stage: 'aBoth', atMs: 1000 },
          { stage: 'bBoth', atMs: 1000 + MAX_LEAF_MS },
        ],
        aUsedUntilMs: 1000 + 2 * MAX_LEAF_MS,
        next: 'bOnly',
        nowMs: 1000 + 2 * MAX_LEAF_MS + 1,
        refusal: undefined,
      },
      {
        name: 'rolling back stage 1 right after it (dropping a root nothing was signed under)',
        history: [
          { stage: 'aOnly', atMs: 0 },
          { stage: 'aBoth', atMs: 1000 },
        ],
        next: 'aOnly',
        nowMs: 2000,
        refusal: undefined,
      },
    ];

    it.each(cases)('$name', ({ history: steps, aUsedUntilMs, next, nowMs, refusal }) => {
      const history = new RotationHistory(MAX_LEAF_MS);
      let current: CaMaterial | undefined;
      for (const [index, step] of steps.entries()) {
        current = material(step.stage);
        history.installed(current, at(step.atMs), index === 0);
      }
      if (aUsedUntilMs !== undefined) history.used(stages.a.root.cert.sha256, at(aUsedUntilMs));
      const result = rotationRefusal(current!, material(next), history, at(nowMs));
      if (refusal === undefined) expect(result).toBeUndefined();
      else expect(result).toMatch(refusal);
    });

    it('takes the starting roots as trusted long enough: switching at once is allowed', () => {
      const history = new RotationHistory(MAX_LEAF_MS);
      const current = material('aBoth');
      history.installed(current, T0, true);
      expect(rotationRefusal(current, material('bBoth'), history, T0)).toBeUndefined();
    });
  });
});
