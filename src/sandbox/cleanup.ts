/**
 * Everything the sandbox starts registers how to undo it here, and it is undone in reverse order,
 * once, whatever happened: success, failure, Ctrl-C or SIGTERM. Each undo step is bounded in time and
 * its failure is reported, never allowed to stop the steps after it. For a second Ctrl-C (the user
 * wants out now) `killNow()` SIGKILLs the child processes synchronously before the process exits.
 */
export interface CleanupReport {
  readonly done: string[];
  readonly failed: Array<{ what: string; error: string }>;
  readonly durationMs: number;
}

interface Entry {
  readonly what: string;
  readonly undo: () => Promise<void>;
  readonly timeoutMs: number;
  /** Synchronous last resort (kill a pid) for killNow(). */
  readonly now?: () => void;
  /** What killNow() cannot undo, and how to remove it by hand. */
  readonly leftBehind?: string;
}

export class Cleanup {
  private readonly entries: Entry[] = [];
  private running?: Promise<CleanupReport>;

  /** Registers an undo step; returns a function that drops it (the resource was released otherwise). */
  add(what: string, undo: () => Promise<void>, options: { timeoutMs?: number; now?: () => void; leftBehind?: string } = {}): () => void {
    const entry: Entry = { what, undo, timeoutMs: options.timeoutMs ?? 15_000, now: options.now, leftBehind: options.leftBehind };
    this.entries.push(entry);
    return () => {
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    };
  }

  get pending(): readonly string[] {
    return this.entries.map((e) => e.what);
  }

  /** Runs every undo step, newest first. Idempotent: a second call returns the first call's report. */
  run(): Promise<CleanupReport> {
    this.running ??= (async () => {
      const started = Date.now();
      const done: string[] = [];
      const failed: Array<{ what: string; error: string }> = [];
      while (this.entries.length > 0) {
        const e = this.entries.pop() as Entry;
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            e.undo(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`did not finish within ${e.timeoutMs / 1000}s`)), e.timeoutMs);
            }),
          ]);
          done.push(e.what);
        } catch (err) {
          e.now?.();
          failed.push({ what: e.what, error: (err as Error).message });
        } finally {
          clearTimeout(timer);
        }
      }
      return { done, failed, durationMs: Date.now() - started };
    })();
    return this.running;
  }

  /**
   * Synchronous: SIGKILL what can be killed at once (child processes). For an immediate exit. Returns
   * what is left behind (registered with `leftBehind`) so the caller can tell the user how to remove it.
   */
  killNow(): string[] {
    const left: string[] = [];
    for (const e of [...this.entries].reverse()) {
      try {
        e.now?.();
      } catch {
        // best effort: the process is exiting
      }
      if (e.leftBehind) left.push(e.leftBehind);
    }
    return left;
  }
}
