/**
 * Small concurrency helpers for the apply loops: a counting semaphore (bounds concurrent target
 * transactions to --parallelism across all schemas; it lives in lib/ because staging uses it too), a
 * wake-up signal, and an abortable sleep.
 */

export { Semaphore } from '../../lib/concurrency.js';

/** A level-triggered wake-up: notify() before wait() makes the next wait() return at once. */
export class Wakeup {
  private pending = false;
  private resolver?: () => void;

  notify(): void {
    this.pending = true;
    this.resolver?.();
  }

  /** Resolves on notify() or after ms, whichever is first. */
  wait(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref?.();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.resolver = undefined;
        self.pending = false;
        resolve();
      }
      this.resolver = done;
    });
  }
}

/** Sleeps ms, or less when the signal aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      resolve();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}
