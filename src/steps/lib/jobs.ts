/**
 * CockroachDB changefeed jobs: reading SHOW CHANGEFEED JOB(S) by column name (the column set grew over
 * releases, facts §2.1), classifying statuses, matching a job to our sink and table set, and
 * cancelling idempotently (CANCEL on a canceled job is a no-op; on another terminal job it errors).
 */
import type { SqlSession } from '../services.js';
import { assertJobId } from './sql.js';
import { parseSinkUri, sameEndpoint, sameSink, type SinkLocation } from './sink-uri.js';

export interface ChangefeedJob {
  jobId: string;
  status: string;
  runningStatus: string;
  /** DECIMAL HLC text, or undefined before the first checkpoint. */
  highWater?: string;
  error: string;
  sinkUri: string;
  /** Fully qualified names as CockroachDB lists them (db.schema.table). */
  tables: string[];
  description: string;
}

/** Jobs that are (or may again be) delivering: they count for the one-changefeed rule. */
const ACTIVE = new Set(['running', 'pending', 'paused', 'pause-requested', 'retry-running']);
export const isActiveStatus = (status: string): boolean => ACTIVE.has(status.toLowerCase());

function textArray(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string') {
    const inner = v.replace(/^\{|\}$/g, '');
    return inner === '' ? [] : inner.split(',').map((s) => s.replace(/^"|"$/g, ''));
  }
  return [];
}

/** Table names from a CREATE CHANGEFEED description, for servers without full_table_names. */
function tablesFromDescription(description: string): string[] {
  const m = /FOR\s+(?:TABLE\s+)?(.+?)\s+INTO\s/is.exec(description);
  return m ? (m[1] as string).split(',').map((s) => s.trim().replace(/"/g, '')) : [];
}

export function jobFromRow(row: Record<string, unknown>): ChangefeedJob {
  const description = String(row.description ?? '');
  const hw = row.high_water_timestamp;
  const tables = row.full_table_names !== undefined ? textArray(row.full_table_names) : tablesFromDescription(description);
  return {
    jobId: String(row.job_id),
    status: String(row.status ?? ''),
    runningStatus: String(row.running_status ?? ''),
    highWater: hw === null || hw === undefined || hw === '' ? undefined : String(hw),
    error: String(row.error ?? ''),
    sinkUri: String(row.sink_uri ?? ''),
    tables,
    description,
  };
}

export async function listChangefeedJobs(session: SqlSession): Promise<ChangefeedJob[]> {
  const { rows } = await session.query<Record<string, unknown>>('SELECT * FROM [SHOW CHANGEFEED JOBS]');
  return rows.map(jobFromRow);
}

/** SHOW CHANGEFEED JOB <id>; undefined when the job does not exist (any more). */
export async function readChangefeedJob(session: SqlSession, jobId: string): Promise<ChangefeedJob | undefined> {
  try {
    const { rows } = await session.query<Record<string, unknown>>(`SHOW CHANGEFEED JOB ${assertJobId(jobId)}`);
    return rows[0] ? jobFromRow(rows[0]) : undefined;
  } catch (err) {
    if (/does not exist|not found|no rows/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

/** "schema.table" keys of a job's tables (database dropped, lower-cased for comparison). */
export const jobTableKeys = (job: ChangefeedJob): string[] =>
  job.tables.map((t) => t.split('.').slice(-2).join('.').toLowerCase()).map((k) => (k.includes('.') ? k : `public.${k}`));

export function sameTableSet(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a.map((s) => s.toLowerCase()))].sort();
  const y = [...new Set(b.map((s) => s.toLowerCase()))].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

export interface JobMatch {
  /** Active jobs with our sink (host, port, path) and our table set: candidates to adopt. */
  ours: ChangefeedJob[];
  /** Other active jobs pointing at the same replicator host and port: they break the one-changefeed rule. */
  conflicting: ChangefeedJob[];
}

export function matchJobs(jobs: readonly ChangefeedJob[], sink: SinkLocation, tableKeys: readonly string[]): JobMatch {
  const ours: ChangefeedJob[] = [];
  const conflicting: ChangefeedJob[] = [];
  for (const job of jobs) {
    if (!isActiveStatus(job.status)) continue;
    const loc = parseSinkUri(job.sinkUri || (/INTO\s+'([^']+)'/i.exec(job.description)?.[1] ?? ''));
    if (!loc || !sameEndpoint(loc, sink)) continue;
    if (sameSink(loc, sink) && sameTableSet(jobTableKeys(job), tableKeys)) ours.push(job);
    else conflicting.push(job);
  }
  return { ours, conflicting };
}

export type CancelOutcome = 'canceled' | 'already-canceled' | 'not-found' | `ended-${string}`;

/** Cancels a changefeed; safe to repeat. A job that already ended some other way is left alone. */
export async function cancelChangefeed(session: SqlSession, jobId: string): Promise<CancelOutcome> {
  const job = await readChangefeedJob(session, jobId);
  if (!job) return 'not-found';
  const status = job.status.toLowerCase();
  if (status === 'canceled' || status === 'cancel-requested') return 'already-canceled';
  if (!isActiveStatus(status)) return `ended-${status}`;
  try {
    await session.query(`CANCEL JOB ${assertJobId(jobId)}`);
  } catch (err) {
    // Raced with another cancel or a failure: report what the job is now.
    if (!/cannot be requested to be canceled/i.test((err as Error).message)) throw err;
    const now = await readChangefeedJob(session, jobId);
    const s = now?.status.toLowerCase() ?? 'gone';
    return s === 'canceled' || s === 'cancel-requested' ? 'already-canceled' : `ended-${s}`;
  }
  return 'canceled';
}
