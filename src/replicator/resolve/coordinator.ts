/**
 * Runs one SchemaWorker per target schema known to staging, on every engine instance. It polls staging
 * every --flushPeriod (resolved timestamps may arrive at another instance behind a load balancer), wakes
 * a worker at once when a resolved timestamp arrives locally, and keeps the numbers the sink needs on its
 * hot path without a query per request: each schema's applied checkpoint (to drop re-sends) and its
 * backlog of staged-but-unapplied rows (for backpressure). Workers compete for a lease per schema, so
 * only one instance applies a schema at a time.
 *
 * The backlog is an estimate kept without walking staging: rows this instance staged are added, rows
 * of each window this instance applied are subtracted, which is exact while one instance does both.
 * Counting in staging reads every pending row (96 ms at 250k pending; it ran in a fifth to half of all
 * database samples when it ran every 2 s), so a count only corrects the estimate: every correctEveryMs,
 * and every countEveryMs while there are signs of other instances (one held the lease or moved the
 * checkpoint, or the last count disagreed with the estimate) within the last minute. A count that ran
 * while rows were staged or applied may have seen some of them twice (it errs towards backpressure),
 * so it is repeated once the schema has been quiet for countEveryMs: when quiet, a count is cheap and exact.
 */
import { ZERO_HLC, type Hlc } from '../../lib/hlc.js';
import type { Logger } from '../../lib/log.js';
import type { EngineMetrics } from '../metrics.js';
import type { TargetSchema } from '../types.js';
import { DEFAULT_LEASE_TIMINGS, LeaseKeeper, type LeaseTimings } from './lease.js';
import type { ApplierPort, LeaseStore, WindowStore } from './ports.js';
import { Semaphore, Wakeup } from './sync.js';
import { SchemaWorker, type WorkerHealth, type WorkerSettings } from './worker.js';

/** How long signs of another instance at work keep the backlog counts frequent. */
const FOREIGN_MEMORY_MS = 60_000;

export interface CoordinatorSettings extends WorkerSettings {
  /** Concurrent target transactions across all schemas. */
  readonly parallelism: number;
  /** --targetApplyQueueSize: backlog above which row batches are refused with 503. */
  readonly queueSize: number;
  /** How often backlogs are counted in staging while other instances seem to work on the schema. */
  readonly countEveryMs: number;
  /** How often the backlog estimate is corrected by a count otherwise (default 30 s). */
  readonly correctEveryMs?: number;
  readonly leaseTimings?: LeaseTimings;
}

export interface CoordinatorDeps {
  readonly store: WindowStore & LeaseStore;
  readonly applier: ApplierPort;
  readonly log: Logger;
  readonly metrics: EngineMetrics;
  readonly settings: CoordinatorSettings;
  readonly afterCommit?: () => void;
}

export interface SchemaStatus {
  readonly schema: TargetSchema;
  readonly applied: Hlc;
  readonly resolved: Hlc;
  /** Staged rows above the applied checkpoint (counted up to queueSize + 1). */
  readonly backlog: number;
  readonly leaseHeld: boolean;
  readonly health: WorkerHealth;
}

export class ApplyCoordinator {
  private readonly workers = new Map<string, SchemaWorker>();
  private readonly backlogs = new Map<string, number>();
  /** Per schema: when its backlog was last counted, and what was staged and applied while a count ran. */
  private readonly counted = new Map<string, number>();
  private readonly during = new Map<string, { staged: number; applied: number }>();
  /** Per schema: when a count last disagreed with the estimate (rows staged or applied elsewhere). */
  private readonly disagreed = new Map<string, number>();
  /** Schemas whose last count overlapped local staging or applying, and when rows last moved there. */
  private readonly overlapped = new Set<string>();
  private readonly movedAt = new Map<string, number>();
  private readonly limiter: Semaphore;
  private readonly wakeup = new Wakeup();
  private loop?: Promise<void>;
  private stopping = false;
  private pollFailures = 0;

  constructor(private readonly deps: CoordinatorDeps) {
    this.limiter = new Semaphore(deps.settings.parallelism);
  }

  /** Loads progress from staging (throws when staging is unreachable) and starts polling. */
  async start(): Promise<void> {
    await this.poll(true);
    this.loop = this.run();
  }

  /** The worker of a schema, created (and started) on first use. */
  ensure(schema: TargetSchema): SchemaWorker {
    let w = this.workers.get(schema.key);
    if (!w) {
      const { store, applier, log, metrics, settings, afterCommit } = this.deps;
      const lease = new LeaseKeeper(store, `apply:${schema.key}`, log, settings.leaseTimings ?? DEFAULT_LEASE_TIMINGS);
      const onApplied = (rows: number) => this.noteApplied(schema.key, rows);
      w = new SchemaWorker(schema, { store, applier, lease, limiter: this.limiter, log, metrics, settings, afterCommit, onApplied });
      this.workers.set(schema.key, w);
      if (!this.stopping) w.start();
    }
    return w;
  }

  /** A resolved timestamp was staged locally: wake the schema's loop at once. */
  noteResolved(schema: TargetSchema, resolved: Hlc): void {
    this.ensure(schema).update({ resolved });
  }

  /** Rows were staged locally: grow the backlog estimate. */
  noteStaged(schemaKey: string, rows: number): void {
    this.movedAt.set(schemaKey, Date.now());
    const d = this.during.get(schemaKey);
    if (d) d.staged += rows;
    this.setBacklog(schemaKey, (this.backlogs.get(schemaKey) ?? 0) + rows);
  }

  /** A window with this many staged rows was applied locally: shrink the backlog estimate. */
  noteApplied(schemaKey: string, rows: number): void {
    this.movedAt.set(schemaKey, Date.now());
    const d = this.during.get(schemaKey);
    if (d) d.applied += rows;
    this.setBacklog(schemaKey, Math.max(0, (this.backlogs.get(schemaKey) ?? 0) - rows));
  }

  private setBacklog(key: string, n: number): void {
    this.backlogs.set(key, n);
    this.setBacklogGauges(key, n);
  }

  private setBacklogGauges(key: string, n: number): void {
    const { metrics, settings } = this.deps;
    metrics.applyQueueSize.set({ schema: key }, n);
    metrics.stagedUnapplied.set({ schema: key }, n);
    metrics.applyQueueUtilization.set({ schema: key }, Math.min(100, (100 * n) / settings.queueSize));
  }

  /** The applied checkpoint as last seen (never ahead of staging's; may lag it briefly). */
  applied(schemaKey: string): Hlc {
    return this.workers.get(schemaKey)?.appliedHlc ?? ZERO_HLC;
  }

  /** True when the schema's backlog is at or above --targetApplyQueueSize. */
  overloaded(schemaKey: string): boolean {
    return (this.backlogs.get(schemaKey) ?? 0) > this.deps.settings.queueSize;
  }

  statuses(): SchemaStatus[] {
    return [...this.workers.values()]
      .map((w) => {
        const s = w.snapshot();
        return { schema: w.schema, applied: s.applied, resolved: s.resolved, backlog: this.backlogs.get(w.schema.key) ?? 0, leaseHeld: s.leaseHeld, health: s.health };
      })
      .sort((a, b) => (a.schema.key < b.schema.key ? -1 : 1));
  }

  /** Unhealthy schemas with their reasons. */
  problems(): string[] {
    return this.statuses()
      .filter((s) => !s.health.ok)
      .map((s) => s.health.reason ?? `${s.schema.key}: apply failing`);
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.wakeup.notify();
    await this.loop;
    await Promise.all([...this.workers.values()].map((w) => w.stop(graceMs)));
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      await this.wakeup.wait(this.deps.settings.pollMs);
      if (this.stopping) break;
      try {
        await this.poll(false);
        if (this.pollFailures > 0) this.deps.log.info('staging reachable again');
        this.pollFailures = 0;
      } catch (err) {
        this.deps.metrics.stagingErrors.inc({ operation: 'poll' });
        // Log the first failure and then every 30th, not once per second.
        if (this.pollFailures++ % 30 === 0) this.deps.log.warn({ err: (err as Error).message }, 'polling staging failed; will keep trying');
      }
    }
  }

  private async poll(initial: boolean): Promise<void> {
    const { store, settings } = this.deps;
    const progress = await store.progress();
    for (const p of progress) this.ensure(p.schema).update(p);
    const now = Date.now();
    for (const w of this.workers.values()) {
      const key = w.schema.key;
      const foreign = Math.max(w.foreignSeenAt, this.disagreed.get(key) ?? 0);
      const quietAfterOverlap = this.overlapped.has(key) && now - (this.movedAt.get(key) ?? 0) >= settings.countEveryMs;
      const every = now - foreign < FOREIGN_MEMORY_MS || quietAfterOverlap ? settings.countEveryMs : (settings.correctEveryMs ?? 30_000);
      if (!initial && now - (this.counted.get(key) ?? 0) < every) continue;
      this.counted.set(key, now);
      const limit = settings.queueSize + 1;
      const d = { staged: 0, applied: 0 };
      const estimate = this.backlogs.get(key) ?? 0;
      this.during.set(key, d);
      let n: number;
      try {
        n = await store.countPending(key, w.appliedHlc, limit);
      } finally {
        this.during.delete(key);
      }
      // The count saw the rows of windows applied while it ran (they were above the checkpoint it read)
      // and maybe some of the rows staged meanwhile: take the first out and all of the second in, so the
      // estimate errs towards backpressure. A capped count only says "at least limit".
      const corrected = Math.max(0, n - d.applied) + d.staged;
      if (d.staged > 0 || d.applied > 0) this.overlapped.add(key);
      else this.overlapped.delete(key);
      const expected = estimate + d.staged - d.applied;
      if (!initial && Math.abs(Math.min(corrected, limit) - Math.min(expected, limit)) > Math.max(d.staged, 100, limit / 1000)) this.disagreed.set(key, Date.now());
      this.setBacklog(key, n >= limit ? Math.max(corrected, this.backlogs.get(key) ?? 0) : corrected);
    }
  }
}
