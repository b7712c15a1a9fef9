/**
 * PartRunner: start order, reverse close order, a part that fails to start, idempotent close, and
 * readiness from the parts' own checks.
 */
import { getEventListeners } from 'node:events';
import { PartRunner, type ReadinessCheck } from '../../src/runtime/index.js';
import { FakePart } from '../fakes/index.js';
import { deferred } from '../support/deferred.js';
import { memoryLogger } from '../support/server.js';

function logged(lines: () => string[]): Record<string, unknown>[] {
  return lines().map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('PartRunner', () => {
  it('starts parts in the order they were added, each after the previous one resolved', async () => {
    const journal: string[] = [];
    const hold = deferred();
    const runner = new PartRunner(memoryLogger().logger);
    const first = runner.add(new FakePart('first', journal, { startHold: hold.promise }));
    runner.add(new FakePart('second', journal));
    runner.add(new FakePart('third', journal));
    const signal = new AbortController().signal;
    const starting = runner.start(signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(journal).toEqual(['start:first']);
    hold.resolve();
    await starting;
    expect(journal).toEqual(['start:first', 'start:second', 'start:third']);
    expect(first.signal?.aborted).toBe(false);
  });

  it('gives each part a signal of its own, aborted when the outer one aborts, with one listener on it', async () => {
    const runner = new PartRunner(memoryLogger().logger);
    const parts = ['a', 'b', 'c'].map((name) => runner.add(new FakePart(name, [])));
    const outer = new AbortController();
    await runner.start(outer.signal);
    const signals = parts.map((part) => part.signal);
    expect(new Set(signals).size).toBe(3);
    expect(signals).not.toContain(outer.signal);
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(1);
    outer.abort();
    expect(signals.map((signal) => signal?.aborted)).toEqual([true, true, true]);
    await runner.close();
  });

  it("aborts each part's signal just before closing it, in reverse order", async () => {
    const journal: string[] = [];
    const runner = new PartRunner(memoryLogger().logger);
    const parts = ['a', 'b'].map((name) => runner.add(new FakePart(name, journal)));
    const outer = new AbortController();
    await runner.start(outer.signal);
    for (const part of parts) {
      part.signal?.addEventListener('abort', () => journal.push(`abort:${part.name}`));
    }
    journal.length = 0;
    await runner.close();
    expect(journal).toEqual(['abort:b', 'close:b', 'abort:a', 'close:a']);
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
    expect(outer.signal.aborted).toBe(false);
  });

  it('starts parts with an aborted signal when the outer one already aborted', async () => {
    const runner = new PartRunner(memoryLogger().logger);
    const part = runner.add(new FakePart('a', []));
    await runner.start(AbortSignal.abort());
    expect(part.signal?.aborted).toBe(true);
    await runner.close();
  });

  it('returns the part it adds, for wiring', () => {
    const runner = new PartRunner(memoryLogger().logger);
    const part = new FakePart('p', []);
    expect(runner.add(part)).toBe(part);
  });

  it('starts only the parts added since the last start', async () => {
    const journal: string[] = [];
    const runner = new PartRunner(memoryLogger().logger);
    runner.add(new FakePart('a', journal));
    await runner.start(new AbortController().signal);
    runner.add(new FakePart('b', journal));
    await runner.start(new AbortController().signal);
    expect(journal).toEqual(['start:a', 'start:b']);
  });

  it('closes started parts in reverse order', async () => {
    const journal: string[] = [];
    const runner = new PartRunner(memoryLogger().logger);
    for (const name of ['a', 'b', 'c']) runner.add(new FakePart(name, journal));
    await runner.start(new AbortController().signal);
    journal.length = 0;
    await runner.close();
    expect(journal).toEqual(['close:c', 'close:b', 'close:a']);
  });

  it('when a part fails to start: closes it and those before it in reverse, starts none after, rethrows', async () => {
    const journal: string[] = [];
    const { logger, lines } = memoryLogger();
    const runner = new PartRunner(logger);
    const failure = new Error('no CA material');
    runner.add(new FakePart('a', journal));
    runner.add(new FakePart('b', journal));
    runner.add(new FakePart('broken', journal, { startFailure: failure }));
    const after = runner.add(new FakePart('after', journal));
    await expect(runner.start(new AbortController().signal)).rejects.toBe(failure);
    expect(journal).toEqual([
      'start:a',
      'start:b',
      'start:broken',
      'close:broken',
      'close:b',
      'close:a',
    ]);
    expect(after.closes).toBe(0);
    expect(logged(lines)).toContainEqual(
      expect.objectContaining({
        msg: 'part failed to start',
        part: 'broken',
        err: 'no CA material',
      }),
    );
  });

  it('closes each part once however often close is called', async () => {
    const journal: string[] = [];
    const runner = new PartRunner(memoryLogger().logger);
    const a = runner.add(new FakePart('a', journal));
    const b = runner.add(new FakePart('b', journal));
    await runner.start(new AbortController().signal);
    const first = runner.close();
    const second = runner.close();
    expect(second).toBe(first);
    await Promise.all([first, second, runner.close()]);
    expect([a.closes, b.closes]).toEqual([1, 1]);
  });

  it('closes nothing when nothing started', async () => {
    const journal: string[] = [];
    const runner = new PartRunner(memoryLogger().logger);
    runner.add(new FakePart('a', journal));
    await runner.close();
    expect(journal).toEqual([]);
  });

  it('logs a part whose close throws, and still closes the others', async () => {
    const journal: string[] = [];
    const { logger, lines } = memoryLogger();
    const runner = new PartRunner(logger);
    runner.add(new FakePart('a', journal));
    runner.add(new FakePart('bad', journal, { closeFailure: new Error('socket already gone') }));
    runner.add(new FakePart('c', journal));
    await runner.start(new AbortController().signal);
    await expect(runner.close()).resolves.toBeUndefined();
    expect(journal.filter((entry) => entry.startsWith('close:'))).toEqual([
      'close:c',
      'close:bad',
      'close:a',
    ]);
    expect(logged(lines)).toContainEqual(
      expect.objectContaining({
        msg: 'part failed to close',
        part: 'bad',
        err: 'socket already gone',
      }),
    );
  });

  describe('readiness', () => {
    const check = (
      name: string,
      reason: string | undefined,
      severity?: ReadinessCheck['severity'],
    ): ReadinessCheck => ({
      name,
      ...(severity === undefined ? {} : { severity }),
      check: () => reason,
    });

    it.each<
      [string, readonly ReadinessCheck[], boolean, Record<string, string>, Record<string, string>]
    >([
      [
        'all pass',
        [check('ca', undefined), check('pods', undefined)],
        true,
        { ca: 'ok', pods: 'ok' },
        {},
      ],
      [
        'a required check fails',
        [check('ca', 'no CA material loaded'), check('pods', undefined)],
        false,
        { ca: 'no CA material loaded', pods: 'ok' },
        {},
      ],
      [
        'an explicitly required check fails',
        [check('ca', 'expired', 'required')],
        false,
        { ca: 'expired' },
        {},
      ],
      [
        'only an informational check fails',
        [check('ca', undefined), check('kubernetes', 'API server unreachable', 'informational')],
        true,
        { ca: 'ok' },
        { kubernetes: 'API server unreachable' },
      ],
      [
        'an informational check passes',
        [check('kubernetes', undefined, 'informational')],
        true,
        {},
        { kubernetes: 'ok' },
      ],
      [
        'a check throws',
        [
          {
            name: 'broken',
            check: () => {
              throw new Error('kaboom');
            },
          },
        ],
        false,
        { broken: 'check failed: kaboom' },
        {},
      ],
      ['there are no checks', [], true, {}, {}],
    ])('when %s', (_name, checks, ready, expected, details) => {
      const runner = new PartRunner(memoryLogger().logger);
      runner.add(new FakePart('p', [], { checks }));
      expect(runner.readiness()).toEqual({ ready, checks: expected, details });
    });

    it("collects every part's checks (started or not) and then the free-standing ones", () => {
      const runner = new PartRunner(memoryLogger().logger);
      runner.add(new FakePart('a', [], { checks: [check('a', undefined)] }));
      runner.add(new FakePart('b', [], { checks: [check('b', 'not synced')] }));
      runner.addCheck(check('kubernetes', undefined));
      expect(runner.checks().map((c) => c.name)).toEqual(['a', 'b', 'kubernetes']);
      expect(runner.readiness()).toEqual({
        ready: false,
        checks: { a: 'ok', b: 'not synced', kubernetes: 'ok' },
        details: {},
      });
    });

    it('reads each check anew every time', () => {
      let reason: string | undefined = 'loading';
      const runner = new PartRunner(memoryLogger().logger);
      runner.addCheck({ name: 'ca', check: () => reason });
      expect(runner.readiness().ready).toBe(false);
      reason = undefined;
      expect(runner.readiness().ready).toBe(true);
    });
  });
});
