import { getEventListeners } from 'node:events';
import { raceSignal, sleep, withDeadline } from '../../src/util/index.js';

const timeout = (): Error => new Error('gave up');

describe('raceSignal', () => {
  it('settles with the promise when the signal does not fire', async () => {
    const controller = new AbortController();
    await expect(raceSignal(Promise.resolve(42), controller.signal, timeout)).resolves.toBe(42);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it("passes the promise's rejection through", async () => {
    const controller = new AbortController();
    const failure = new Error('inner');
    await expect(raceSignal(Promise.reject(failure), controller.signal, timeout)).rejects.toBe(
      failure,
    );
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('turns a rejection with a non-Error into an Error', async () => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
    const rejected = Promise.reject('a string');
    await expect(raceSignal(rejected, new AbortController().signal, timeout)).rejects.toThrow(
      new Error('a string'),
    );
  });

  it("rejects with onAbort's error as soon as the signal fires, without waiting", async () => {
    const controller = new AbortController();
    const error = new Error('deadline');
    let settled = false;
    const pending = new Promise<string>(() => undefined); // never settles
    const raced = raceSignal(pending, controller.signal, () => error);
    raced.catch(() => undefined).finally(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    controller.abort();
    await expect(raced).rejects.toBe(error);
  });

  it('rejects at once for a signal that has already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    const error = new Error('late');
    await expect(
      raceSignal(Promise.resolve('value'), controller.signal, () => {
        calls++;
        return error;
      }),
    ).rejects.toBe(error);
    expect(calls).toBe(1);
  });

  it('ignores the signal once the promise has settled', async () => {
    const controller = new AbortController();
    let calls = 0;
    await raceSignal(Promise.resolve(1), controller.signal, () => {
      calls++;
      return timeout();
    });
    controller.abort();
    expect(calls).toBe(0);
  });
});

describe('sleep', () => {
  it('resolves after the time given', async () => {
    const controller = new AbortController();
    await expect(sleep(2, controller.signal)).resolves.toBeUndefined();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('resolves without a signal', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });

  it('resolves early when the signal fires', async () => {
    const controller = new AbortController();
    // An hour: the test only finishes if the abort ends the wait.
    const sleeping = sleep(3_600_000, controller.signal);
    controller.abort();
    await expect(sleeping).resolves.toBeUndefined();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('resolves at once for a signal that has already fired', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(sleep(3_600_000, controller.signal)).resolves.toBeUndefined();
  });
});

describe('withDeadline', () => {
  it('settles with the promise before the deadline', async () => {
    await expect(
      withDeadline(Promise.resolve(7), performance.now() + 1000, () => new Error('late')),
    ).resolves.toBe(7);
    await expect(
      withDeadline(
        Promise.reject(new Error('no')),
        performance.now() + 1000,
        () => new Error('late'),
      ),
    ).rejects.toThrow('no');
    await expect(
      withDeadline(Promise.resolve(1), Number.POSITIVE_INFINITY, () => new Error('late')),
    ).resolves.toBe(1);
  });

  it('rejects at the deadline, and ignores a late failure', async () => {
    const late = new Promise<number>((_resolve, reject) =>
      setTimeout(() => {
        reject(new Error('later'));
      }, 50),
    );
    await expect(
      withDeadline(late, performance.now() + 10, () => new Error('late')),
    ).rejects.toThrow('late');
    await new Promise((resolve) => setTimeout(resolve, 60));
  });
});
