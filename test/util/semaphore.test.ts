import { Semaphore } from '../../src/util/index.js';

/** A promise settled from outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Lets pending promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const never = new AbortController().signal;
const overloaded = (): Error => new Error('overloaded');

describe('Semaphore', () => {
  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses capacity %p with a TypeError',
    (capacity) => {
      expect(() => new Semaphore(capacity)).toThrow(TypeError);
    },
  );

  it('runs up to capacity tasks at once and queues the rest', async () => {
    const semaphore = new Semaphore(2);
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((gate, index) =>
      semaphore.run(
        async () => {
          started.push(index);
          await gate.promise;
          return index;
        },
        never,
        overloaded,
      ),
    );
    await settle();
    expect(started).toEqual([0, 1]);
    expect(semaphore.inUse).toBe(2);
    expect(semaphore.waiting).toBe(1);

    gates[1]!.resolve();
    await expect(runs[1]).resolves.toBe(1);
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect(semaphore.inUse).toBe(2);
    expect(semaphore.waiting).toBe(0);

    gates[0]!.resolve();
    gates[2]!.resolve();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2]);
    expect(semaphore.inUse).toBe(0);
  });

  it('grants permits in arrival order', async () => {
    const semaphore = new Semaphore(1);
    const gate = deferred();
    const order: string[] = [];
    const holder = semaphore.run(() => gate.promise, never, overloaded);
    const waiters = ['a', 'b', 'c', 'd'].map((name) =>
      semaphore.run(
        () => {
          order.push(name);
          return Promise.resolve();
        },
        never,
        overloaded,
      ),
    );
    expect(semaphore.waiting).toBe(4);
    gate.resolve();
    await Promise.all([holder, ...waiters]);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    expect(semaphore.inUse).toBe(0);
  });

  it("removes a waiter whose signal fires and rejects it with onAbort's error", async () => {
    const semaphore = new Semaphore(1);
    const gate = deferred();
    const holder = semaphore.run(() => gate.promise, never, overloaded);
    const impatient = new AbortController();
    const ran: string[] = [];
    const error = new Error('deadline');
    const gaveUp = semaphore.run(
      () => {
        ran.push('impatient');
        return Promise.resolve();
      },
      impatient.signal,
      () => error,
    );
    const patient = semaphore.run(
      () => {
        ran.push('patient');
        return Promise.resolve();
      },
      never,
      overloaded,
    );
    expect(semaphore.waiting).toBe(2);
    impatient.abort();
    await expect(gaveUp).rejects.toBe(error);
    expect(semaphore.waiting).toBe(1);
    gate.resolve();
    await Promise.all([holder, patient]);
    expect(ran).toEqual(['patient']);
    expect(semaphore.inUse).toBe(0);
  });

  it('rejects at once, without running the task, when the signal has already fired', async () => {
    const semaphore = new Semaphore(1);
    const aborted = new AbortController();
    aborted.abort();
    let ran = false;
    const error = new Error('too late');
    await expect(
      semaphore.run(
        () => {
          ran = true;
          return Promise.resolve();
        },
        aborted.signal,
        () => error,
      ),
    ).rejects.toBe(error);
    expect(ran).toBe(false);
    expect(semaphore.inUse).toBe(0);
  });

  it('does not reject a task whose signal fires after it got its permit', async () => {
    const semaphore = new Semaphore(1);
    const controller = new AbortController();
    const gate = deferred();
    const run = semaphore.run(
      async () => {
        await gate.promise;
        return 'done';
      },
      controller.signal,
      overloaded,
    );
    controller.abort();
    gate.resolve();
    await expect(run).resolves.toBe('done');
  });

  it('releases the permit when a task fails', async () => {
    const semaphore = new Semaphore(1);
    const failure = new Error('task failed');
    await expect(semaphore.run(() => Promise.reject(failure), never, overloaded)).rejects.toBe(
      failure,
    );
    expect(semaphore.inUse).toBe(0);
    await expect(semaphore.run(() => Promise.resolve('next'), never, overloaded)).resolves.toBe(
      'next',
    );
  });

  it('hands the permit of a failed task to the next waiter', async () => {
    const semaphore = new Semaphore(1);
    const gate = deferred();
    const failing = semaphore.run(
      async () => {
        await gate.promise;
        throw new Error('boom');
      },
      never,
      overloaded,
    );
    const next = semaphore.run(() => Promise.resolve('next'), never, overloaded);
    gate.resolve();
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
    expect(semaphore.inUse).toBe(0);
    expect(semaphore.waiting).toBe(0);
  });

  it('releases the permit when a task throws synchronously', async () => {
    const semaphore = new Semaphore(1);
    await expect(
      semaphore.run(
        () => {
          throw new Error('sync');
        },
        never,
        overloaded,
      ),
    ).rejects.toThrow('sync');
    expect(semaphore.inUse).toBe(0);
  });
});
