import { CallScope } from '../../src/util/index.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const ended = (): Error => new Error('ended');

describe('CallScope', () => {
  it('settles as the work does when it finishes in time', async () => {
    const scope = new CallScope(1000);
    await expect(scope.race(Promise.resolve(7), ended)).resolves.toBe(7);
    await expect(scope.race(Promise.reject(new Error('boom')), ended)).rejects.toThrow('boom');
    expect(scope.signal.aborted).toBe(false);
    scope.close();
  });

  it('ends at the deadline: the signal aborts and the race rejects with the given error', async () => {
    const scope = new CallScope(20);
    const work = sleep(500).then(() => 'late');
    await expect(scope.race(work, ended)).rejects.toThrow('ended');
    expect(scope.signal.aborted).toBe(true);
    scope.close();
  });

  it('ends when the client cancels', async () => {
    const client = new AbortController();
    const scope = new CallScope(10_000, client.signal);
    const racing = scope.race(sleep(500), ended);
    client.abort();
    await expect(racing).rejects.toThrow('ended');
    expect(scope.signal.aborted).toBe(true);
    scope.close();
  });

  it('starts ended when the client has already gone, without an unhandled rejection', async () => {
    const client = new AbortController();
    client.abort();
    const scope = new CallScope(10_000, client.signal);
    expect(scope.signal.aborted).toBe(true);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(scope.race(Promise.reject(new Error('work failed')), ended)).rejects.toThrow(
        'ended',
      );
      await sleep(20);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      scope.close();
    }
  });

  it('leaves no timer or listener behind once closed', async () => {
    const client = new AbortController();
    const scope = new CallScope(30, client.signal);
    scope.close();
    await sleep(60);
    // The deadline timer was cleared, and cancelling later does not reach the scope.
    expect(scope.signal.aborted).toBe(false);
    client.abort();
    expect(scope.signal.aborted).toBe(false);
  });
});
