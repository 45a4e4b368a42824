/**
 * Keeps one FeedRunner per running changefeed job of the backend: starts runners for jobs that are
 * running (new ones, resumed ones, and those found at start-up over a persistent backend), stops
 * them when their job leaves `running`, and completes the two-step transitions CockroachDB shows
 * (pause-requested -> paused, cancel-requested -> canceled) once the runner has stopped. Polls the
 * jobs table; assumes one emulator per backend database.
 */
import type { Logger } from '../../../lib/log.js';
import type { InternalDb } from '../backend/internal-db.js';
import type { FaultState } from './faults.js';
import { FeedRunner } from './runner.js';
import { completeRequest, listActiveJobs } from './store.js';

export interface ManagerDeps {
  db: InternalDb;
  log: Logger;
  faults: FaultState;
  pollMs: number;
}

export class FeedManager {
  private readonly runners = new Map<string, FeedRunner>();
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<void>;
  private stopped = false;
  private lastError?: string;

  constructor(private readonly deps: ManagerDeps) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .then(() => {
          this.lastError = undefined;
        })
        .catch((err: Error) => {
          if (err.message !== this.lastError) this.deps.log.warn({ err: err.message }, 'crdb emulator: feed manager tick failed');
          this.lastError = err.message;
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.deps.pollMs);
        });
    };
    tick();
  }

  private async tick(): Promise<void> {
    const jobs = await listActiveJobs(this.deps.db);
    const running = new Set(jobs.filter((j) => j.status === 'running').map((j) => j.id));
    for (const id of running) {
      if (!this.runners.has(id) && !this.stopped) {
        const runner: FeedRunner = new FeedRunner(id, this.deps, () => {
          if (this.runners.get(id) === runner) this.runners.delete(id);
        });
        this.runners.set(id, runner);
      }
    }
    for (const [id, r] of this.runners) if (!running.has(id)) await r.stop();
    for (const j of jobs) {
      if (j.status === 'pause-requested' || j.status === 'cancel-requested') {
        await this.runners.get(j.id)?.stop();
        await completeRequest(this.deps.db, j.id, j.status);
      }
    }
  }

  /** Forces the feed of `jobId` to restart from its checkpoint; false when it is not running here. */
  restartFeed(jobId: string): boolean {
    const r = this.runners.get(jobId);
    r?.forceRestart();
    return r !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }
}
