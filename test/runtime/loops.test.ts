/**
 * BackgroundLoops: loops see one signal, close aborts and awaits every loop, a loop that throws
 * is logged (not lost, not fatal), and the link to an outer signal never leaks listeners.
 */
import { getEventListeners } from 'node:events';
import { BackgroundLoops } from '../../src/runtime/index.js';
import { sleep } from '../../src/util/index.js';
import { deferred } from '../support/deferred.js';
import { memoryLogger } from '../support/server.js';

function logged(lines: () => string[]): Record<string, unknown>[] {
  return lines().map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('BackgroundLoops', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('close aborts every loop and resolves only once each has returned', async () => {
    const loops = new BackgroundLoops(memoryLogger().logger);
    const finished: string[] = [];
    for (const [name, cleanupMs] of [
      ['quick', 0],
      ['slow', 50],
    ] as const) {
      loops.run(name, async (signal) => {
        while (!signal.aborted) await sleep(1000, signal);
        await sleep(cleanupMs);
        finished.push(name);
      });
    }
    expect(loops.signal.aborted).toBe(false);
    await loops.close();
    expect(loops.signal.aborted).toBe(true);
    expect(finished.sort()).toEqual(['quick', 'slow']);
  });

  it('logs a loop that throws with its name, without an unhandled rejection, and keeps the others', async () => {
    const { logger, lines } = memoryLogger();
    const loops = new BackgroundLoops(logger);
    let ticks = 0;
    loops.run('steady', async (signal) => {
      while (!signal.aborted) {
        ticks++;
        await sleep(5, signal);
      }
    });
    loops.run('broken', () => Promise.reject(new Error('reconcile exploded')));
    await sleep(50);
    const before = ticks;
    await sleep(30);
    expect(ticks).toBeGreaterThan(before);
    expect(logged(lines)).toContainEqual(
      expect.objectContaining({
        msg: 'background loop failed',
        loop: 'broken',
        err: 'reconcile exploded',
      }),
    );
    await loops.close();
    expect(unhandled).toEqual([]);
  });

  it('does not log a loop that fails because it was aborted', async () => {
    const { logger, lines } = memoryLogger();
    const loops = new BackgroundLoops(logger);
    loops.run('watch', async (signal) => {
      await new Promise<void>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          reject(new Error('The operation was aborted'));
        });
      });
    });
    await loops.close();
    expect(logged(lines).filter((line) => line['msg'] === 'background loop failed')).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('stops when a linked signal aborts', async () => {
    const loops = new BackgroundLoops(memoryLogger().logger);
    const outer = new AbortController();
    loops.link(outer.signal);
    const ended = deferred();
    loops.run('loop', async (signal) => {
      while (!signal.aborted) await sleep(1000, signal);
      ended.resolve();
    });
    outer.abort();
    await ended.promise;
    expect(loops.signal.aborted).toBe(true);
    await loops.close();
  });

  it('is aborted at once when linked to a signal that already aborted', () => {
    const loops = new BackgroundLoops(memoryLogger().logger);
    loops.link(AbortSignal.abort());
    expect(loops.signal.aborted).toBe(true);
  });

  it('keeps one listener on the linked signal, and removes it on close', async () => {
    const loops = new BackgroundLoops(memoryLogger().logger);
    const first = new AbortController();
    const second = new AbortController();
    loops.link(first.signal);
    loops.link(second.signal);
    expect(getEventListeners(first.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(second.signal, 'abort')).toHaveLength(1);
    // The replaced link no longer stops the loops.
    first.abort();
    expect(loops.signal.aborted).toBe(false);
    await loops.close();
    expect(getEventListeners(second.signal, 'abort')).toHaveLength(0);
  });

  it('awaits a loop started while closing', async () => {
    const loops = new BackgroundLoops(memoryLogger().logger);
    let lateDone = false;
    loops.run('first', async (signal) => {
      while (!signal.aborted) await sleep(1000, signal);
      loops.run('late', async () => {
        await sleep(30);
        lateDone = true;
      });
    });
    await loops.close();
    expect(lateDone).toBe(true);
  });
});
