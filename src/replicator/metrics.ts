/**
 * The engine's Prometheus metrics, all on one injected Registry (never prom-client's global one, so two
 * engines in one process do not collide). Names follow MOLT Replicator where one exists, so the
 * runbook's PromQL and existing dashboards keep working; our own additions start with `failback_`.
 * Lag gauges are computed at scrape time from HLC wall times (now - timestamp), so a stuck feed shows a
 * growing lag instead of a frozen number.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { hlcSeconds, type Hlc } from '../lib/hlc.js';

/** MOLT's "latency" buckets: 1-9 ms, 10-90 ms, 100-900 ms, 1-9 s, 10-60 s. */
function latencyBuckets(): number[] {
  const out: number[] = [];
  for (const scale of [0.001, 0.01, 0.1, 1]) for (let i = 1; i <= 9; i++) out.push(Number((i * scale).toFixed(4)));
  out.push(10, 20, 30, 40, 50, 60);
  return out;
}

/** 1 KiB ... 16 MiB, powers of two. */
function sizeBuckets(): number[] {
  const out: number[] = [];
  for (let b = 1024; b <= 16 * 1024 * 1024; b *= 2) out.push(b);
  return out;
}

/** 1 ... 100k rows, 1-2-5 steps. */
function rowBuckets(): number[] {
  const out: number[] = [];
  for (let scale = 1; scale <= 100_000; scale *= 10) out.push(scale, 2 * scale, 5 * scale);
  return out.filter((x) => x <= 100_000);
}

export type WebhookOutcome =
  | 'staged'
  | 'resolved'
  | 'resolved_ignored'
  | 'empty'
  | 'bad_request'
  | 'unknown_schema'
  | 'unknown_table'
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_large'
  | 'unsupported_encoding'
  | 'backpressure'
  | 'unavailable';

export class EngineMetrics {
  // MOLT Replicator names
  readonly applyUpserts: Counter<'schema' | 'table'>;
  readonly applyDeletes: Counter<'schema' | 'table'>;
  readonly applyErrors: Counter<'schema' | 'table'>;
  readonly applyConflicts: Counter<'schema' | 'table'>;
  readonly applyDuration: Histogram<'schema'>;
  readonly targetApplied: Gauge<'schema'>;
  readonly targetPending: Gauge<'schema'>;
  readonly coreSourceLag: Gauge<'schema'>;
  readonly stageMutations: Counter<'schema' | 'table'>;
  readonly stageDuplicates: Counter<'schema' | 'table'>;
  readonly stageDuration: Histogram<'schema'>;
  readonly goingBackwards: Counter<'schema'>;
  readonly httpStatus: Counter<'code'>;
  readonly httpLatency: Histogram<string>;
  readonly httpPayloadBytes: Counter<string>;
  readonly applyQueueSize: Gauge<'schema'>;
  readonly applyQueueUtilization: Gauge<'schema'>;
  readonly sweepActive: Gauge<'schema'>;
  // molt-failback additions
  readonly appliedLag: Gauge<'schema'>;
  readonly stagedUnapplied: Gauge<'schema'>;
  readonly droppedBelowCheckpoint: Counter<'schema' | 'table'>;
  readonly webhookRequests: Counter<'outcome'>;
  readonly httpPayloadSize: Histogram<string>;
  readonly applyWindows: Counter<'schema'>;
  readonly applyWindowRows: Histogram<'schema'>;
  readonly applyRetries: Counter<'schema' | 'class'>;
  readonly applyHealthy: Gauge<'schema'>;
  readonly stagingErrors: Counter<'operation'>;
  readonly retiredRows: Counter<'schema'>;

  private readonly applied = new Map<string, Hlc>();
  private readonly pending = new Map<string, Hlc>();

  constructor(
    readonly registry: Registry,
    info: { version: string; now?: () => number },
  ) {
    const now = info.now ?? Date.now;
    const reg = [registry];
    const tableLabels = ['schema', 'table'] as const;
    this.applyUpserts = new Counter({ name: 'apply_upserts_total', help: 'Rows upserted into the target.', labelNames: tableLabels, registers: reg });
    this.applyDeletes = new Counter({ name: 'apply_deletes_total', help: 'Rows deleted from the target.', labelNames: tableLabels, registers: reg });
    this.applyErrors = new Counter({ name: 'apply_errors_total', help: 'Target transactions that failed after in-transaction retries (table is empty when the error names none).', labelNames: tableLabels, registers: reg });
    this.applyConflicts = new Counter({ name: 'apply_conflicts_total', help: 'Conditional-apply losers (always 0: molt-failback has no CAS mode).', labelNames: tableLabels, registers: reg });
    this.applyDuration = new Histogram({ name: 'apply_duration_seconds', help: 'Duration of successful target transactions.', labelNames: ['schema'], buckets: latencyBuckets(), registers: reg });
    const applied = this.applied;
    const pending = this.pending;
    this.targetApplied = new Gauge({
      name: 'target_applied_timestamp_seconds',
      help: 'Wall time of the newest resolved timestamp (or source transaction) applied to the target.',
      labelNames: ['schema'],
      registers: reg,
      collect() {
        for (const [s, h] of applied) this.set({ schema: s }, hlcSeconds(h));
      },
    });
    this.targetPending = new Gauge({
      name: 'target_pending_timestamp_seconds',
      help: 'Wall time of the newest resolved timestamp received.',
      labelNames: ['schema'],
      registers: reg,
      collect() {
        for (const [s, h] of pending) this.set({ schema: s }, hlcSeconds(h));
      },
    });
    this.coreSourceLag = new Gauge({
      name: 'core_source_lag_seconds',
      help: 'Age of the newest resolved timestamp received (now - its wall time).',
      labelNames: ['schema'],
      registers: reg,
      collect() {
        const t = now() / 1000;
        for (const [s, h] of pending) this.set({ schema: s }, Math.max(0, t - hlcSeconds(h)));
      },
    });
    this.appliedLag = new Gauge({
      name: 'failback_applied_lag_seconds',
      help: 'Replication lag: now - wall time of the applied checkpoint (the target equals the source as of that time).',
      labelNames: ['schema'],
      registers: reg,
      collect() {
        const t = now() / 1000;
        for (const [s, h] of applied) this.set({ schema: s }, Math.max(0, t - hlcSeconds(h)));
      },
    });
    this.stageMutations = new Counter({ name: 'stage_mutations_total', help: 'Mutations written to staging (duplicates excluded).', labelNames: tableLabels, registers: reg });
    this.stageDuplicates = new Counter({ name: 'stage_duplicate_mutations_total', help: 'Mutations received again that were already staged.', labelNames: tableLabels, registers: reg });
    this.stageDuration = new Histogram({ name: 'stage_duration_seconds', help: 'Duration of staging writes.', labelNames: ['schema'], buckets: latencyBuckets(), registers: reg });
    this.goingBackwards = new Counter({
      name: 'checkpoint_proposed_going_backwards_errors_total',
      help: 'Resolved timestamps older than one already received (acknowledged with 200 and ignored).',
      labelNames: ['schema'],
      registers: reg,
    });
    this.httpStatus = new Counter({ name: 'http_status_codes_total', help: 'Webhook responses by status code.', labelNames: ['code'], registers: reg });
    this.httpLatency = new Histogram({ name: 'http_latency_seconds', help: 'Webhook request latency.', buckets: latencyBuckets(), registers: reg });
    this.httpPayloadBytes = new Counter({ name: 'http_payload_in_bytes_total', help: 'Webhook request body bytes received (a counter; MOLT exports a histogram under this name).', registers: reg });
    this.httpPayloadSize = new Histogram({ name: 'failback_http_payload_size_bytes', help: 'Webhook request body size.', buckets: sizeBuckets(), registers: reg });
    this.applyQueueSize = new Gauge({ name: 'target_apply_queue_size', help: 'Staged mutations waiting to be applied (counted up to targetApplyQueueSize + 1).', labelNames: ['schema'], registers: reg });
    this.applyQueueUtilization = new Gauge({ name: 'target_apply_queue_utilization_percent', help: 'target_apply_queue_size as a percentage of --targetApplyQueueSize; at 100 row batches get 503.', labelNames: ['schema'], registers: reg });
    this.sweepActive = new Gauge({ name: 'core_sweep_active_bool', help: '1 on the instance holding the apply lease of the schema.', labelNames: ['schema'], registers: reg });
    this.stagedUnapplied = new Gauge({ name: 'failback_staged_unapplied_mutations', help: 'Staged mutations above the applied checkpoint (counted up to targetApplyQueueSize + 1).', labelNames: ['schema'], registers: reg });
    this.droppedBelowCheckpoint = new Counter({ name: 'failback_stage_dropped_below_checkpoint_total', help: 'Re-sent mutations at or below the applied checkpoint, dropped on arrival.', labelNames: tableLabels, registers: reg });
    this.webhookRequests = new Counter({ name: 'failback_webhook_requests_total', help: 'Webhook requests by outcome.', labelNames: ['outcome'], registers: reg });
    this.applyWindows = new Counter({ name: 'failback_apply_windows_total', help: 'Windows applied and marked applied.', labelNames: ['schema'], registers: reg });
    this.applyWindowRows = new Histogram({ name: 'failback_apply_window_rows', help: 'Staged rows per applied window.', labelNames: ['schema'], buckets: rowBuckets(), registers: reg });
    this.applyRetries = new Counter({ name: 'failback_apply_window_retries_total', help: 'Windows retried later, by error class (retry = retries exhausted, defer = foreign key, fatal = other).', labelNames: ['schema', 'class'], registers: reg });
    this.applyHealthy = new Gauge({ name: 'failback_apply_healthy', help: '1 while the schema applies without errors, 0 while a window keeps failing.', labelNames: ['schema'], registers: reg });
    this.stagingErrors = new Counter({ name: 'failback_staging_errors_total', help: 'Staging database errors by operation.', labelNames: ['operation'], registers: reg });
    this.retiredRows = new Counter({ name: 'failback_stage_retired_rows_total', help: 'Staged rows deleted after their window was applied (including late re-sends).', labelNames: ['schema'], registers: reg });
    new Gauge({ name: 'failback_build_info', help: 'Build information.', labelNames: ['version'], registers: reg }).set({ version: info.version }, 1);
    new Gauge({ name: 'failback_start_seconds', help: 'Process start time.', registers: reg }).set(Math.floor(now() / 1000));
    collectDefaultMetrics({ register: registry });
  }

  noteApplied(schema: string, h: Hlc): void {
    this.applied.set(schema, h);
  }

  notePending(schema: string, h: Hlc): void {
    this.pending.set(schema, h);
  }
}

export { Registry };
