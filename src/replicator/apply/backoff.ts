/** Retry timing: exponential backoff with jitter, and a sleep that an abort signal cuts short. */

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

/**
 * Delay before retry number `retry` (1 for the first retry): initial * multiplier^(retry-1), capped at
 * max, then "equal jitter" (uniformly between half and all of it) so that concurrent appliers that hit
 * the same deadlock do not retry in lock step.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * Math.pow(Math.max(1, policy.multiplier), Math.max(0, retry - 1)));
  const capped = Math.max(0, Number.isFinite(base) ? base : policy.maxMs);
  return Math.round(capped / 2 + random() * (capped / 2));
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
