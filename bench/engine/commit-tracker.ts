/**
 * Dates target commits. Every window ends with a write of its number to the marker row, and the
 * engine applies windows in order with a table group's changes in one transaction, so the first time
 * the target shows marker >= w, window w and everything before it is committed. That time is taken
 * from the target itself (LISTEN/NOTIFY or polling, see targets/), not from the engine's metrics.
 */
import type { MarkerObserver, TargetDb } from '../targets/target.js';

export class StallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StallError';
  }
}

export class CommitTracker {
  /** commitAt[m - 1]: performance.now() when marker version m (window m - 1) was first seen. */
  readonly commitAt: number[] = [];
  private highest = 0;
  private lastProgressAt = performance.now();
  private observer: MarkerObserver | undefined;
  private waiters: (() => void)[] = [];

  static async start(db: TargetDb, pollMs: number): Promise<CommitTracker> {
    const tracker = new CommitTracker();
    tracker.observer = await db.observeMarker((v, at) => tracker.seen(v, at), pollMs);
    return tracker;
  }

  get method(): string {
    return this.observer?.method ?? 'none';
  }

  get highestMarker(): number {
    return this.highest;
  }

  private seen(version: number, at: number): void {
    if (version <= this.highest) return;
    for (let m = this.highest + 1; m <= version; m++) this.commitAt[m - 1] = at;
    this.highest = version;
    this.lastProgressAt = at;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /** Counts as progress from now (call when the engine is first given something it can apply). */
  resetStallClock(): void {
    this.lastProgressAt = performance.now();
  }

  /**
   * Waits until marker >= `marker`. Fails when the target shows no new commit for `stallMs`, or when
   * `alive()` reports the engine gone; `describe` adds engine state to the error.
   */
  async waitFor(marker: number, stallMs: number, alive: () => boolean, describe: () => Promise<string>): Promise<number> {
    while (this.highest < marker) {
      if (!alive()) throw new StallError(`the engine exited while ${marker - this.highest} windows were still unapplied.\n${await describe()}`);
      if (performance.now() - this.lastProgressAt > stallMs) {
        throw new StallError(
          `no window committed in the target for ${Math.round(stallMs / 1000)} s ` +
            `(marker at ${this.highest}, waiting for ${marker}).\n${await describe()}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.commitAt[marker - 1]!;
  }

  async close(): Promise<void> {
    await this.observer?.close();
  }
}
