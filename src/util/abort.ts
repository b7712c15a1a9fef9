/**
 * Small helpers for deadlines expressed as AbortSignals.
 *
 * @module
 */

/**
 * Settles with `promise`, or rejects with `onAbort()` as soon as `signal` aborts. The underlying
 * work is not cancelled (it may be shared with other callers); only this caller stops waiting.
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  onAbort: () => Error,
): Promise<T> {
  if (signal.aborted) {
    // Nobody waits for the work any more: its later rejection must not become an unhandled one.
    promise.catch(() => undefined);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      reject(onAbort());
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Waits `ms` milliseconds unless `signal` aborts first (then resolves early). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Settles with `promise`, or rejects once `deadline` (a `performance.now()` time) passes; an
 * infinite deadline waits for `promise`. The work itself goes on (its late outcome is ignored).
 */
export function withDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  onTimeout: () => Error,
): Promise<T> {
  if (deadline === Number.POSITIVE_INFINITY) return promise;
  // The promise may still settle after the deadline; that outcome is nobody's to handle.
  promise.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        reject(onTimeout());
      },
      Math.max(0, deadline - performance.now()),
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
