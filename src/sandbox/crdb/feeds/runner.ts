/**
 * Runs one changefeed job. Each run starts from the job's last checkpoint (its high-water mark):
 * optional initial scan, then a loop that reads stamped events up to the closed timestamp in HLC
 * order, batches them per webhook_sink_config, and POSTs one batch at a time (so per-key order
 * holds trivially). Every min_checkpoint_frequency the pending batch is flushed, and once every
 * message at or below the frontier is acknowledged the high-water mark moves there; a resolved
 * message follows when the `resolved` interval has elapsed in HLC time. Never backwards, never ahead
 * of unacknowledged rows. A batch that keeps failing (Retry.Max retries with doubling backoff, capped
 * at 30s) restarts the run from the checkpoint after a restart backoff (500ms doubling, capped at
 * 10s), re-sending what was already delivered: at-least-once, like CockroachDB.
 */
import { compareHlc, formatStatusHlc, type Hlc } from '../../../lib/hlc.js';
import type { Logger } from '../../../lib/log.js';
import type { InternalDb } from '../backend/internal-db.js';
import { parseSinkUri, redactForLog, webhookTarget } from '../changefeed/sink-uri.js';
import { nanosToMillis } from '../util/go-duration.js';
import { Batcher } from './batcher.js';
import { batchBody, encodeMessage, resolvedBody, type EncodedMessage, type TargetInfo } from './encoder.js';
import type { FaultState } from './faults.js';
import { loadJob, markSucceeded, readClosed, readEvents, saveCheckpoint, saveRunningStatus, scanTable, type EventCursor, type JobRecord } from './store.js';
import { SinkRequestError, WebhookClient } from './webhook.js';

const PAGE = 1000;
const MAX_SEQ = (1n << 63n) - 1n;
export const RESTART_BACKOFF_INITIAL_MS = 500;
export const RESTART_BACKOFF_MAX_MS = 10_000;
const RETRY_BACKOFF_MAX_MS = 30_000;

class Interrupted extends Error {
  constructor(readonly why: 'stop' | 'restart') {
    super(why);
  }
}
class SinkFailure extends Error {}

export interface RunnerDeps {
  db: InternalDb;
  log: Logger;
  faults: FaultState;
  pollMs: number;
}

const prevHlc = (h: Hlc): Hlc => (h.logical > 0 ? { nanos: h.nanos, logical: h.logical - 1 } : { nanos: h.nanos - 1n, logical: 0x7fffffff });

export class FeedRunner {
  private stopped = false;
  private restartRequested = false;
  private abort = new AbortController();
  private wake?: () => void;
  private client?: WebhookClient;
  private restartAttempts = 0;
  private readonly done: Promise<void>;
  private restartTimer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    readonly jobId: string,
    private readonly deps: RunnerDeps,
    onExit: () => void,
  ) {
    this.done = this.loop().finally(onExit);
    this.scheduleFaultRestarts();
    this.unsubscribe = deps.faults.onChange(() => this.scheduleFaultRestarts());
  }

  private get log(): Logger {
    return this.deps.log;
  }

  /** Restart from the last checkpoint now (test hook and restart-every fault). */
  forceRestart(): void {
    this.restartRequested = true;
    this.abort.abort();
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.done;
  }

  private scheduleFaultRestarts(): void {
    if (this.restartTimer) clearInterval(this.restartTimer);
    this.restartTimer = undefined;
    const every = this.deps.faults.current.restartEveryMs;
    if (every > 0 && !this.stopped) {
      this.restartTimer = setInterval(() => this.forceRestart(), every);
      this.restartTimer.unref();
    }
  }

  private check(): void {
    if (this.stopped) throw new Interrupted('stop');
    if (this.restartRequested) throw new Interrupted('restart');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped) {
        this.restartRequested = false;
        this.abort = new AbortController();
        try {
          const outcome = await this.runOnce();
          if (outcome === 'finished') return;
        } catch (err) {
          if (this.stopped) return;
          if (err instanceof Interrupted) {
            this.log.info({ job: this.jobId }, 'crdb emulator: changefeed restarting from its last checkpoint');
            continue;
          }
          this.restartAttempts++;
          const wait = Math.min(RESTART_BACKOFF_INITIAL_MS * 2 ** (this.restartAttempts - 1), RESTART_BACKOFF_MAX_MS);
          if (err instanceof SinkFailure) {
            this.log.warn({ job: this.jobId, err: err.message, retryInMs: wait }, 'crdb emulator: changefeed sink error, restarting from checkpoint');
            await saveRunningStatus(this.deps.db, this.jobId, `transient error: ${err.message}`).catch(() => undefined);
          } else {
            this.log.warn({ job: this.jobId, err: (err as Error).message, retryInMs: wait }, 'crdb emulator: changefeed error, retrying');
          }
          await this.sleep(wait);
        }
      }
    } finally {
      if (this.restartTimer) clearInterval(this.restartTimer);
      this.unsubscribe();
      await this.client?.close();
    }
  }

  /** One run from the last checkpoint; returns when the job no longer needs this runner. */
  private async runOnce(): Promise<'finished' | 'stopped'> {
    const { db } = this.deps;
    const job = await loadJob(db, this.jobId);
    if (!job || job.status !== 'running') return 'finished';
    const opts = job.options;
    if (!this.client) {
      const target = webhookTarget(parseSinkUri(job.sinkUri).url);
      this.client = new WebhookClient(target, {
        authHeader: opts.authHeader,
        timeoutMs: opts.clientTimeoutNs === null ? null : Math.max(1, nanosToMillis(opts.clientTimeoutNs)),
        compression: opts.compression,
        extraHeaders: opts.extraHeaders ?? {},
        format: opts.format,
      });
      this.log.info({ job: this.jobId, sink: redactForLog(job.sinkUri) }, 'crdb emulator: changefeed started');
    }
    const targets = new Map<string, TargetInfo>(job.targets.map((t) => [String(t.relid), { relid: String(t.relid), topic: t.topic, columns: t.columns }]));
    const batcher = new Batcher({ messages: opts.sink.messages, bytes: opts.sink.bytes, frequencyMs: nanosToMillis(opts.sink.frequencyNs) });

    let hw: Hlc;
    if (job.scanPending || job.hw === null) {
      for (const t of job.targets) {
        this.check();
        const rows = await scanTable(db, t, job.start);
        const info = targets.get(String(t.relid)) as TargetInfo;
        for (const r of rows) {
          batcher.add(encodeMessage({ hlc: job.start, seq: '0', relid: info.relid, key: r.key, after: r.row, before: null }, info, opts));
          if (batcher.full) await this.flush(batcher, job);
        }
      }
      await this.flush(batcher, job);
      hw = job.start;
      if (!(await saveCheckpoint(db, job.id, hw, `running: resolved=${formatStatusHlc(hw)}`))) return 'finished';
      if (job.initialScan === 'only') {
        await markSucceeded(db, job.id);
        return 'finished';
      }
    } else hw = job.hw;

    const relids = [...targets.keys()];
    const endTime: Hlc | null = opts.endTime ? { nanos: BigInt(opts.endTime.wall), logical: opts.endTime.logical } : null;
    const minCheckpointMs = nanosToMillis(opts.minCheckpointNs);
    const resolvedNs = opts.resolvedNs === null ? null : BigInt(opts.resolvedNs);
    let cursor: EventCursor = { hlc: hw, seq: MAX_SEQ };
    let frontier: Hlc = hw;
    let lastCheckpointAt = Date.now();
    let lastResolved = job.resolvedSent;

    for (;;) {
      this.check();
      let closed = await readClosed(db);
      if (endTime && compareHlc(closed, endTime) > 0) closed = endTime;
      let busy = false;
      if (compareHlc(closed, frontier) > 0) {
        const events = await readEvents(db, relids, cursor, closed, PAGE);
        for (const ev of events) {
          const info = targets.get(ev.relid);
          if (!info) continue;
          batcher.add(encodeMessage(ev, info, opts));
          if (batcher.full) await this.flush(batcher, job);
        }
        const last = events[events.length - 1];
        if (last) cursor = { hlc: last.hlc, seq: BigInt(last.seq) };
        if (events.length === PAGE && last) {
          // The page may have cut a transaction: only what lies strictly below its last HLC is complete.
          const below = prevHlc(last.hlc);
          if (compareHlc(below, frontier) > 0) frontier = below;
          busy = true;
        } else frontier = closed;
      }
      if (batcher.due()) await this.flush(batcher, job);

      if (Date.now() - lastCheckpointAt >= minCheckpointMs && compareHlc(frontier, hw) > 0) {
        // CockroachDB flushes the sink before a checkpoint: the high-water mark only covers acked rows.
        await this.flush(batcher, job);
        hw = frontier;
        // The resolved message goes out before the checkpoint is recorded: while the sink is down the
        // high-water mark stays where it was (as SHOW CHANGEFEED JOB shows on CockroachDB).
        const emit = resolvedNs !== null && (lastResolved === null || (compareHlc(hw, lastResolved) > 0 && hw.nanos - lastResolved.nanos >= resolvedNs));
        if (emit) await this.deliver(resolvedBody(hw), job);
        if (!(await saveCheckpoint(db, job.id, hw, `running: resolved=${formatStatusHlc(hw)}`, emit ? hw : undefined))) return 'finished';
        if (emit) lastResolved = hw;
        lastCheckpointAt = Date.now();
        this.restartAttempts = 0;
        if (endTime && compareHlc(hw, endTime) >= 0) {
          await markSucceeded(db, job.id);
          return 'finished';
        }
      }
      if (!busy) await this.sleep(this.deps.pollMs);
    }
  }

  private async flush(batcher: Batcher, job: JobRecord): Promise<void> {
    if (batcher.length === 0) return;
    const msgs: EncodedMessage[] = this.deps.faults.reorder(batcher.take(), (m) => m.rowKey);
    const body = batchBody(
      msgs.map((m) => m.text),
      job.options.format,
    );
    await this.deliver(body, job);
    if (this.deps.faults.shouldDuplicate()) await this.deliver(body, job);
  }

  /** Sends one body with the sink's retries; throws SinkFailure when they are exhausted. */
  private async deliver(body: string, job: JobRecord): Promise<void> {
    const cfg = job.options.sink;
    let backoff = Math.max(1, nanosToMillis(cfg.backoffNs));
    for (let retries = 0; ; retries++) {
      this.check();
      const delay = this.deps.faults.current.delayMs;
      if (delay > 0) await this.sleep(delay);
      this.check();
      try {
        await (this.client as WebhookClient).post(body, this.abort.signal);
        return;
      } catch (err) {
        this.check();
        if (!(err instanceof SinkRequestError)) throw err;
        this.log.debug({ job: job.id, err: err.message, retries }, 'crdb emulator: webhook request failed');
        if (cfg.retryMax !== null && retries >= cfg.retryMax) throw new SinkFailure(err.message);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, RETRY_BACKOFF_MAX_MS);
      }
    }
  }
}
