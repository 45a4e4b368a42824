/**
 * What the sink does with a parsed body: validate the target schema and tables against the target
 * catalog (any dialect: an unknown schema is a 400, not silent parking as in MOLT Replicator), refuse
 * row batches while the schema's backlog is over --targetApplyQueueSize (503, so the changefeed retries
 * later), drop re-sends at or below the applied checkpoint, and stage the rest durably before the 200.
 * While the target is unreachable the catalog cannot be asked; batches are then staged unverified, so a
 * target outage never blocks intake.
 */
import { withTimeout } from '../../lib/concurrency.js';
import { compareHlc, formatHlc, type Hlc } from '../../lib/hlc.js';
import type { Logger } from '../../lib/log.js';
import type { EngineMetrics, WebhookOutcome } from '../metrics.js';
import { quoteSchema, type Mutation, type SchemaInfo, type TargetSchema } from '../types.js';

export interface CatalogPort {
  schema(target: TargetSchema, options?: { refresh?: boolean }): Promise<SchemaInfo | undefined>;
}

export interface StagePort {
  /** Once `signal` aborts the caller has answered 503: the port should stop as soon as it safely can. */
  putMutations(schema: TargetSchema, rows: readonly Mutation[], options?: { signal?: AbortSignal }): Promise<{ inserted: Map<string, number>; duplicates: Map<string, number> }>;
  putResolved(schema: TargetSchema, hlc: Hlc): Promise<'stored' | 'duplicate' | 'backwards'>;
}

export interface ProgressPort {
  applied(schemaKey: string): Hlc;
  overloaded(schemaKey: string): boolean;
  noteStaged(schemaKey: string, rows: number): void;
  noteResolved(schema: TargetSchema, hlc: Hlc): void;
}

export interface IngestResult {
  readonly status: 200 | 400 | 503;
  /** Response text (without the trailing newline). */
  readonly body: string;
  readonly outcome: WebhookOutcome;
  /** Mutations staged by this request. */
  readonly rows: number;
  /** Seconds, for 503. */
  readonly retryAfter?: number;
  /**
   * Set when the answer was given before a staging write finished (it timed out): settles when that
   * write has ended. The request's bytes stay in use until then, so the in-flight bound holds.
   */
  readonly settling?: Promise<void>;
}

export interface IngestDeps {
  readonly catalog: CatalogPort;
  readonly stage: StagePort;
  readonly progress: ProgressPort;
  readonly metrics: EngineMetrics;
  readonly log: Logger;
  /** Budget for one staging write; past it the request gets 503. */
  readonly timeoutMs: number;
  /** Minimum interval between forced catalog refreshes of one schema (unknown table or schema). */
  readonly refreshEveryMs?: number;
  readonly now?: () => number;
}

export class Ingestor {
  private readonly lastRefresh = new Map<string, number>();
  private lastUnverifiedWarn = 0;
  private lastStagingWarn = 0;
  private lastBackwardsWarn = 0;
  private readonly now: () => number;

  constructor(private readonly deps: IngestDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Checks the schema and tables; undefined means OK (or unverifiable while the target is down). */
  private async verify(schema: TargetSchema, tables: readonly string[]): Promise<IngestResult | undefined> {
    const { catalog, log } = this.deps;
    let info: SchemaInfo | undefined;
    try {
      info = await catalog.schema(schema);
      const missing = (i: SchemaInfo | undefined) => tables.filter((t) => !i?.tables.has(t.toLowerCase()));
      if (!info || missing(info).length > 0) {
        // The schema or a table may have been created since the last introspection.
        const last = this.lastRefresh.get(schema.key) ?? 0;
        if (this.now() - last >= (this.deps.refreshEveryMs ?? 5000)) {
          this.lastRefresh.set(schema.key, this.now());
          info = await catalog.schema(schema, { refresh: true });
        }
      }
      if (!info) return { status: 400, body: `unknown schema: ${quoteSchema(schema)}`, outcome: 'unknown_schema', rows: 0 };
      const absent = missing(info);
      if (absent.length > 0) {
        const names = absent.map((t) => `${quoteSchema(schema)}."${t}"`).join(', ');
        return { status: 400, body: `unknown table${absent.length === 1 ? '' : 's'} ${names}: create ${absent.length === 1 ? 'it' : 'them'} on the target, or remove ${absent.length === 1 ? 'it' : 'them'} from the changefeed`, outcome: 'unknown_table', rows: 0 };
      }
      return undefined;
    } catch (err) {
      if (this.now() - this.lastUnverifiedWarn > 10_000) {
        this.lastUnverifiedWarn = this.now();
        log.warn({ schema: schema.key, err: (err as Error).message }, 'target unreachable: staging webhook data without checking the schema; it is applied once the target is back');
      }
      return undefined;
    }
  }

  /** A staging write bounded by the time budget; past it the write is told to stop and the request gets 503. */
  private async stageWithin<T>(op: string, write: (signal: AbortSignal) => Promise<T>): Promise<{ value: T } | { failed: IngestResult }> {
    const abort = new AbortController();
    const pending = write(abort.signal);
    try {
      return { value: await withTimeout(pending, this.deps.timeoutMs, 'staging') };
    } catch (err) {
      abort.abort(err);
      const settling = pending.then(
        () => undefined,
        () => undefined,
      );
      return { failed: { ...this.unavailable(op, err), settling } };
    }
  }

  private unavailable(op: string, err: unknown): IngestResult {
    this.deps.metrics.stagingErrors.inc({ operation: op });
    if (this.now() - this.lastStagingWarn > 5000) {
      this.lastStagingWarn = this.now();
      this.deps.log.warn({ err: (err as Error).message }, `staging write failed (${op}); answering 503 so the changefeed retries`);
    }
    return { status: 503, body: 'staging unavailable, retry later', outcome: 'unavailable', rows: 0, retryAfter: 2 };
  }

  /** An empty batch stages nothing, but a wrong path is still a 400: the changefeed is misconfigured. */
  async empty(schema: TargetSchema): Promise<IngestResult> {
    return (await this.verify(schema, [])) ?? { status: 200, body: 'OK', outcome: 'empty', rows: 0 };
  }

  async rows(schema: TargetSchema, mutations: readonly Mutation[]): Promise<IngestResult> {
    const { progress, metrics, stage } = this.deps;
    const tables = [...new Set(mutations.map((m) => m.table))];
    const bad = await this.verify(schema, tables);
    if (bad) return bad;
    if (progress.overloaded(schema.key)) {
      return { status: 503, body: 'apply backlog is over --targetApplyQueueSize, retry later', outcome: 'backpressure', rows: 0, retryAfter: 5 };
    }
    const applied = progress.applied(schema.key);
    const keep: Mutation[] = [];
    for (const m of mutations) {
      if (compareHlc(m.hlc, applied) <= 0) metrics.droppedBelowCheckpoint.inc({ schema: schema.key, table: m.table });
      else keep.push(m);
    }
    if (keep.length === 0) return { status: 200, body: 'OK', outcome: 'staged', rows: 0 };
    const end = metrics.stageDuration.startTimer({ schema: schema.key });
    const put = await this.stageWithin('stage mutations', (signal) => stage.putMutations(schema, keep, { signal }));
    if ('failed' in put) return put.failed;
    const res = put.value;
    end();
    let staged = 0;
    for (const [t, n] of res.inserted) {
      metrics.stageMutations.inc({ schema: schema.key, table: t }, n);
      staged += n;
    }
    for (const [t, n] of res.duplicates) metrics.stageDuplicates.inc({ schema: schema.key, table: t }, n);
    progress.noteStaged(schema.key, staged);
    return { status: 200, body: 'OK', outcome: 'staged', rows: staged };
  }

  async resolved(schema: TargetSchema, hlc: Hlc): Promise<IngestResult> {
    const { progress, metrics, stage, log } = this.deps;
    const bad = await this.verify(schema, []);
    if (bad) return bad;
    const put = await this.stageWithin('stage resolved', () => stage.putResolved(schema, hlc));
    if ('failed' in put) return put.failed;
    const outcome = put.value;
    if (outcome === 'backwards') {
      metrics.goingBackwards.inc({ schema: schema.key });
      if (this.now() - this.lastBackwardsWarn > 10_000) {
        this.lastBackwardsWarn = this.now();
        log.warn(
          { schema: schema.key, resolved: formatHlc(hlc) },
          'resolved timestamp is older than one already received; acknowledged and ignored (a changefeed restarted from an older cursor, or a second changefeed points at this engine)',
        );
      }
      return { status: 200, body: 'OK', outcome: 'resolved_ignored', rows: 0 };
    }
    progress.noteResolved(schema, hlc);
    return { status: 200, body: 'OK', outcome: 'resolved', rows: 0 };
  }
}
