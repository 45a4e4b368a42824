/**
 * The apply loop of one target schema. While this process holds the schema's lease it repeatedly takes
 * the next window (applied checkpoint A, newest resolved R], builds plans, has the Applier commit them on
 * the target, and only then marks the window applied in staging (advancing A, fenced by the lease) and
 * retires its staged rows. A crash between the target commit and the mark re-applies the window on
 * restart, which is harmless: every statement is an upsert or a delete by key of the same end state.
 *
 * Failures never drop data: the window stays staged and is retried after a delay that depends on the
 * error class (retry-class errors that outlived the Applier's own retries, FK deferrals after
 * --quiescentPeriod, anything else with growing backoff), while health reports the reason.
 */
import { compareHlc, formatHlc, ZERO_HLC, type Hlc } from '../../lib/hlc.js';
import type { Logger } from '../../lib/log.js';
import type { EngineMetrics } from '../metrics.js';
import { quoteSchema, type SchemaInfo, type TargetSchema } from '../types.js';
import { analyzeForeignKeys, type FkGraph } from './fk.js';
import type { LeaseKeeper } from './lease.js';
import { buildPlans } from './plan.js';
import { errorClassOf, type ApplierPort, type ApplyResult, type SchemaProgress, type StagedRow, type WindowStore } from './ports.js';
import { Semaphore, Wakeup, sleep } from './sync.js';
import { chooseWindow, ReadSpan } from './window.js';

export interface WorkerSettings {
  readonly scanSize: number;
  readonly flushSize: number;
  readonly collapse: boolean;
  readonly parallelApplies: boolean;
  readonly quiescentMs: number;
  /** Budget per flushSize rows of one transaction. */
  readonly applyTimeoutMs: number;
  /** Idle poll cadence (--flushPeriod). */
  readonly pollMs: number;
  /**
   * How often the lease holder sweeps staging for late re-sends at or below the checkpoint (each
   * applied window is retired on its own right after it is marked; the sweep is the catch-all).
   */
  readonly retireEveryMs: number;
}

export interface WorkerHealth {
  readonly ok: boolean;
  readonly reason?: string;
  /** Epoch ms of the first failure of the current run of failures. */
  readonly since?: number;
  readonly failures: number;
}

export interface WorkerDeps {
  readonly store: WindowStore;
  readonly applier: ApplierPort;
  readonly lease: LeaseKeeper;
  readonly limiter: Semaphore;
  readonly log: Logger;
  readonly metrics: EngineMetrics;
  readonly settings: WorkerSettings;
  /** Test hook: runs after the target commit and before the window is marked applied. */
  readonly afterCommit?: () => void;
  /** Told the staged rows of each window marked applied (the coordinator's backlog estimate). */
  readonly onApplied?: (rows: number) => void;
  readonly now?: () => number;
}

/** A failure talking to staging (as opposed to the target). */
class StagingFailure extends Error {
  constructor(
    readonly operation: string,
    cause: unknown,
  ) {
    super(`staging ${operation} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A window-level failure with an explicit class. */
class WindowFailure extends Error {
  constructor(
    readonly errorClass: 'retry' | 'defer' | 'fatal',
    message: string,
    readonly table?: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

export class SchemaWorker {
  private applied: Hlc = ZERO_HLC;
  private resolved: Hlc = ZERO_HLC;
  private readonly wakeup = new Wakeup();
  private readonly stopController = new AbortController();
  private readonly abandonController = new AbortController();
  private loopPromise?: Promise<void>;
  private stopping = false;
  private failures = 0;
  private unhealthy = false;
  private failingSince?: number;
  private lastError?: string;
  private refreshSchema = false;
  /** After a fatal failure the same window is retried source transaction by source transaction. */
  private hlcOrderRetry = false;
  private graphFor?: { info: SchemaInfo; graph: FkGraph };
  private cycleLogged = false;
  private retiring: Promise<void> = Promise.resolve();
  /** When the last catch-all sweep ran (0: not yet, so the first one runs as soon as the lease is held). */
  private lastSweep = 0;
  private busy = false;
  private readonly span = new ReadSpan();
  private seeded = false;
  private foreignAt = 0;
  /** The next page, read while the current window applies (valid only if that window gets marked). */
  private prefetch?: { from: Hlc; page: Promise<Page | undefined> };
  private readonly now: () => number;
  private readonly label: string;

  constructor(
    readonly schema: TargetSchema,
    private readonly deps: WorkerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.label = schema.key;
  }

  get appliedHlc(): Hlc {
    return this.applied;
  }

  get resolvedHlc(): Hlc {
    return this.resolved;
  }

  get holdsLease(): boolean {
    return this.deps.lease.held;
  }

  /** Merges progress seen in staging or locally (both only move forward). */
  update(p: { applied?: Hlc; resolved?: Hlc }): void {
    if (p.applied && compareHlc(p.applied, this.applied) > 0) {
      // Not our own mark (that happens with the lease held) and not the first load: another instance.
      if (this.seeded && !this.deps.lease.held) this.foreignAt = this.now();
      this.applied = p.applied;
      if (p.applied.nanos > 0n) this.deps.metrics.noteApplied(this.label, p.applied);
    }
    if (p.resolved && compareHlc(p.resolved, this.resolved) > 0) {
      this.resolved = p.resolved;
      this.deps.metrics.notePending(this.label, p.resolved);
    }
    this.seeded = true;
    if (this.hasWork()) this.wakeup.notify();
  }

  /** When this instance last saw another one apply this schema or hold its lease (epoch ms, 0: never). */
  get foreignSeenAt(): number {
    return this.foreignAt;
  }

  wake(): void {
    this.wakeup.notify();
  }

  hasWork(): boolean {
    return compareHlc(this.resolved, this.applied) > 0;
  }

  health(): WorkerHealth {
    if (!this.unhealthy) return { ok: true, failures: this.failures };
    return { ok: false, reason: this.lastError, since: this.failingSince, failures: this.failures };
  }

  start(): void {
    this.deps.metrics.applyHealthy.set({ schema: this.label }, 1);
    this.deps.metrics.sweepActive.set({ schema: this.label }, 0);
    this.loopPromise ??= this.run().catch((err) => {
      this.deps.log.error({ schema: this.label, err: (err as Error).message }, 'apply loop crashed');
    });
  }

  /**
   * Stops the loop: a window in flight may finish within `graceMs`; after that its target transaction
   * is abandoned (rolled back, nothing marked). Then the lease is released.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopController.abort();
    this.wakeup.notify();
    if (this.loopPromise) {
      let finished = false;
      await Promise.race([this.loopPromise.then(() => (finished = true)), sleep(Math.max(0, graceMs))]);
      if (!finished) {
        this.deps.log.warn({ schema: this.label }, 'abandoning the window in flight (rolled back; it stays staged)');
        this.abandonController.abort(new Error('shutting down'));
        // The Applier honours the abort between statements; one blocked in the target is left to the
        // connection's end (the server rolls the transaction back).
        await Promise.race([this.loopPromise, sleep(500)]);
      }
    }
    await Promise.race([this.retiring, sleep(300)]);
    await Promise.race([this.deps.lease.release(), sleep(500)]);
    this.deps.metrics.sweepActive.set({ schema: this.label }, 0);
  }

  private async run(): Promise<void> {
    const { settings, lease, metrics } = this.deps;
    while (!this.stopping) {
      metrics.sweepActive.set({ schema: this.label }, lease.held ? 1 : 0);
      if (!this.hasWork()) {
        if (lease.held && this.now() - this.lastSweep >= settings.retireEveryMs) this.retireBackground(this.applied);
        await this.wakeup.wait(settings.pollMs);
        continue;
      }
      if (!lease.held) {
        let ok = false;
        try {
          ok = await lease.tryAcquire();
        } catch (err) {
          await sleep(this.onFailure(new StagingFailure('lease acquisition', err)), this.stopController.signal);
          continue;
        }
        if (!ok) {
          this.foreignAt = this.now();
          // Another instance applies this schema: earlier failures here are no longer this instance's.
          if (this.failures > 0) this.onSuccess();
          await this.wakeup.wait(settings.pollMs);
          continue;
        }
        metrics.sweepActive.set({ schema: this.label }, 1);
        // Another instance may have advanced the checkpoint while it held the lease.
        try {
          const p = (await this.deps.store.progress()).find((x) => x.schema.key === this.label);
          if (p && this.seeded && compareHlc(p.applied, this.applied) > 0) this.foreignAt = this.now();
          if (p) this.update(p);
        } catch (err) {
          await sleep(this.onFailure(new StagingFailure('progress read', err)), this.stopController.signal);
          continue;
        }
        if (!this.hasWork()) continue;
      }
      this.busy = true;
      try {
        await this.applyNextWindow();
        this.onSuccess();
      } catch (err) {
        const delay = this.onFailure(err);
        this.busy = false;
        await sleep(delay, this.stopController.signal);
      } finally {
        this.busy = false;
      }
    }
  }

  private async staging<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.deps.metrics.stagingErrors.inc({ operation });
      throw new StagingFailure(operation, err);
    }
  }

  private async schemaInfo(): Promise<SchemaInfo> {
    let info: SchemaInfo | undefined;
    try {
      info = await this.deps.applier.schema(this.schema, this.refreshSchema ? { refresh: true } : undefined);
    } catch (err) {
      const cls = errorClassOf(err);
      throw new WindowFailure(cls === 'fatal' ? 'retry' : cls, `target introspection failed: ${(err as Error).message}`, undefined, err);
    }
    this.refreshSchema = false;
    if (!info) throw new WindowFailure('fatal', `unknown schema: ${quoteSchema(this.schema)} does not exist on the target`);
    return info;
  }

  private graph(info: SchemaInfo): FkGraph {
    if (this.graphFor?.info !== info) this.graphFor = { info, graph: analyzeForeignKeys(info) };
    return this.graphFor.graph;
  }

  /**
   * The staged rows in (from, hi], at most scanSize + 1 of them, where hi <= upTo is as far as the read
   * got: reads are bounded by the adaptive span (see ReadSpan) and continue after a short one until the
   * page overflows or reaches upTo, so a window is never cut short by the span alone. Read-only.
   */
  private async readPage(from: Hlc, upTo: Hlc): Promise<Page> {
    const { store, settings } = this.deps;
    const limit = settings.scanSize + 1;
    const rows: StagedRow[] = [];
    let lo = from;
    for (;;) {
      const hi = this.span.bound(lo, upTo);
      const part = await store.readRange(this.label, lo, hi, limit - rows.length);
      for (const r of part) rows.push(r);
      if (rows.length >= limit) {
        this.span.overflowed(from, (rows[settings.scanSize] as StagedRow).hlc);
        return { rows, hi };
      }
      // The part held every row of (lo, hi]: the page is complete up to hi.
      if (compareHlc(hi, upTo) >= 0) return { rows, hi };
      this.span.widen(lo, hi, part.length, limit - rows.length);
      lo = hi;
    }
  }

  private async applyNextWindow(): Promise<void> {
    const { store, settings, lease, metrics, log, applier, limiter } = this.deps;
    const from = this.applied;
    let page: Page | undefined;
    const pre = this.prefetch;
    this.prefetch = undefined;
    if (pre && compareHlc(pre.from, from) === 0) {
      // Read while the previous window was applying. Its bound was at most a resolved timestamp then,
      // so the page is complete up to its own bound even if newer resolved timestamps arrived since.
      page = await pre.page;
    }
    page ??= await this.staging('read', () => this.readPage(from, this.resolved));
    const choice = chooseWindow(page.hi, page.rows, settings.scanSize);
    let rows: readonly StagedRow[];
    let to: Hlc;
    if (choice.kind === 'single-hlc') {
      rows = await this.staging('read', () => store.readHlc(this.label, choice.hlc));
      to = choice.hlc;
      log.info({ schema: this.label, hlc: formatHlc(to), rows: rows.length }, 'one source transaction exceeds --scanSize; applying it whole in one target transaction');
    } else {
      rows = choice.rows;
      to = choice.to;
    }

    const t0 = this.now();
    let results: ApplyResult[] = [];
    let planRows = 0;
    if (rows.length > 0) {
      const info = await this.schemaInfo();
      const out = buildPlans({
        schema: this.schema,
        from,
        to,
        rows,
        info,
        graph: this.graph(info),
        // A collapsed window writes all upserts before all deletes; if that failed for a reason other than
        // a lost connection (say a unique value that moved from a deleted row to a new one), the retry
        // follows the source's own order instead.
        collapse: settings.collapse && !this.hlcOrderRetry,
        flushSize: settings.flushSize,
        splitComponents: settings.parallelApplies,
      });
      planRows = out.rowCount;
      if (out.hlcOrderReason && !this.cycleLogged) {
        this.cycleLogged = true;
        log.warn({ schema: this.label, reason: out.hlcOrderReason }, 'applying in HLC order');
      }
      if (!lease.held) return;
      if (compareHlc(to, this.resolved) < 0) {
        this.prefetch = { from: to, page: this.readPage(to, this.resolved).catch(() => undefined) };
      }
      const budget = settings.applyTimeoutMs * Math.max(1, Math.ceil(planRows / settings.flushSize));
      const timeout = AbortSignal.timeout(budget);
      const signal = AbortSignal.any([lease.signal, this.abandonController.signal, timeout]);
      // Wait for every plan even when one fails, so a retry never overlaps a transaction still running.
      const settled = await Promise.allSettled(out.plans.map((plan) => limiter.run(() => applier.apply(plan, signal))));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) {
        this.prefetch = undefined;
        // Lost lease: another instance applies from here on (our transaction was rolled back). Not a failure.
        if (lease.signal.aborted && !this.abandonController.signal.aborted) return;
        if (this.abandonController.signal.aborted) throw new WindowFailure('retry', `window abandoned: ${(signal.reason as Error)?.message ?? 'aborted'}`);
        if (timeout.aborted) throw new WindowFailure('retry', `target transaction exceeded its --applyTimeout budget of ${budget} ms (${planRows} rows); rolled back`);
        throw failed.reason;
      }
      results = settled.map((s) => (s as PromiseFulfilledResult<ApplyResult>).value);
      this.deps.afterCommit?.();
    }

    const holder = lease.holder;
    if (!lease.held || holder === undefined) return;
    const marked = await this.staging('mark applied', () => store.markApplied(this.label, to, holder));
    if (!marked) {
      this.prefetch = undefined;
      lease.drop('staging refused to mark the window applied: another instance holds the lease');
      return;
    }
    this.update({ applied: to });
    this.deps.onApplied?.(rows.length);
    // The window's own rows go at once (a narrow range); now and then the catch-all sweep instead, which
    // covers the window too.
    if (this.now() - this.lastSweep >= settings.retireEveryMs) this.retireBackground(to);
    else this.retireBackground(to, from);

    // Metrics and logs for the committed window.
    const ms = this.now() - t0;
    metrics.applyWindows.inc({ schema: this.label });
    metrics.applyWindowRows.observe({ schema: this.label }, rows.length);
    let statements = 0;
    let attempts = 0;
    const upserts = new Map<string, number>();
    const deletes = new Map<string, number>();
    for (const r of results) {
      metrics.applyDuration.observe({ schema: this.label }, r.durationMs / 1000);
      statements += r.statements;
      attempts = Math.max(attempts, r.attempts);
      for (const [t, n] of r.counts.upserts) upserts.set(t, (upserts.get(t) ?? 0) + n);
      for (const [t, n] of r.counts.deletes) deletes.set(t, (deletes.get(t) ?? 0) + n);
    }
    const tableRef = (t: string) => `${quoteSchema(this.schema)}."${t}"`;
    for (const [t, n] of upserts) {
      metrics.applyUpserts.inc({ schema: this.label, table: t }, n);
      metrics.applyConflicts.inc({ schema: this.label, table: t }, 0);
      log.debug({ target: tableRef(t), upserted: n, proposed: n, conflicts: 0, durationMs: ms }, 'upserted rows');
    }
    for (const [t, n] of deletes) {
      metrics.applyDeletes.inc({ schema: this.label, table: t }, n);
      log.debug({ target: tableRef(t), deleted: n, durationMs: ms }, 'deleted rows');
    }
    log.debug(
      { schema: this.label, from: formatHlc(from), to: formatHlc(to), staged: rows.length, applied: planRows, transactions: results.length, statements, attempts, durationMs: ms },
      'window applied',
    );
  }

  /** Deletes applied rows in the background: the window (from, applied] when `from` is given, else the sweep. */
  private retireBackground(applied: Hlc, from?: Hlc): void {
    if (!from) this.lastSweep = this.now();
    this.retiring = this.retiring.then(async () => {
      try {
        const n = await this.deps.store.retire(this.label, applied, from);
        if (n > 0) this.deps.metrics.retiredRows.inc({ schema: this.label }, n);
      } catch (err) {
        this.deps.metrics.stagingErrors.inc({ operation: 'retire' });
        this.deps.log.warn({ schema: this.label, err: (err as Error).message }, 'retiring applied staged rows failed; the next sweep deletes them');
      }
    });
  }

  private onSuccess(): void {
    if (this.failures > 0) {
      this.deps.log.info({ schema: this.label, failures: this.failures }, 'apply recovered');
      this.deps.metrics.applyHealthy.set({ schema: this.label }, 1);
    }
    this.failures = 0;
    this.hlcOrderRetry = false;
    this.unhealthy = false;
    this.failingSince = undefined;
    this.lastError = undefined;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  private onFailure(err: unknown): number {
    const { settings, metrics, log } = this.deps;
    if (this.stopping && this.abandonController.signal.aborted) return 0;
    const staging = err instanceof StagingFailure;
    const cls = staging ? 'retry' : errorClassOf(err);
    this.failures++;
    this.failingSince ??= this.now();
    const message = (err as Error)?.message ?? String(err);
    const table = (err as { table?: unknown })?.table;
    const label = staging ? 'staging' : cls;
    metrics.applyRetries.inc({ schema: this.label, class: label });
    if (!staging) metrics.applyErrors.inc({ schema: this.label, table: typeof table === 'string' ? table : '' });
    let delay: number;
    let what: string;
    switch (cls) {
      case 'defer':
        delay = settings.quiescentMs;
        what = 'foreign-key violation: the window is held and retried after --quiescentPeriod';
        break;
      case 'retry':
        delay = Math.min(settings.quiescentMs, 250 * 2 ** Math.min(this.failures - 1, 10));
        what = staging ? 'staging unavailable: retrying' : 'target unavailable or contended after all retries: retrying';
        break;
      default:
        delay = Math.min(Math.max(settings.quiescentMs, 1000) * 2 ** Math.min(this.failures - 1, 10), 300_000);
        what = 'apply failed: the window stays staged and is retried with backoff';
        this.refreshSchema = true;
        if (settings.collapse && !this.hlcOrderRetry) {
          this.hlcOrderRetry = true;
          what += ' (next attempt in source-transaction order)';
        }
    }
    // A single FK deferral is normal while tables catch up; report unhealthy when it repeats.
    const unhealthy = cls !== 'defer' || this.failures >= 2;
    this.lastError = `${this.label}: ${what} (${this.failures} attempt${this.failures === 1 ? '' : 's'} since ${new Date(this.failingSince).toISOString()}): ${message}`;
    if (unhealthy) {
      this.unhealthy = true;
      metrics.applyHealthy.set({ schema: this.label }, 0);
    }
    const fields = { schema: this.label, errorClass: label, attempt: this.failures, retryInMs: delay, err: message, ...(typeof table === 'string' ? { table } : {}) };
    if (cls === 'fatal') log.error(fields, what);
    else log.warn(fields, what);
    return delay;
  }

  /** For /_/diag. */
  snapshot(): { applied: Hlc; resolved: Hlc; leaseHeld: boolean; busy: boolean; health: WorkerHealth } {
    return { applied: this.applied, resolved: this.resolved, leaseHeld: this.deps.lease.held, busy: this.busy, health: this.health() };
  }
}

export type { SchemaProgress };

/** Staged rows in (from, hi] (at most scanSize + 1), and hi. */
interface Page {
  readonly rows: StagedRow[];
  readonly hi: Hlc;
}
