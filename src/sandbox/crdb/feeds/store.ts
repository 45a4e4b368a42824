/**
 * The feed side of the emulator catalog: reading a job, the closed timestamp and stamped events,
 * taking an initial-scan snapshot, and recording progress. Every write is guarded by the job's
 * status so a feed that was paused or canceled meanwhile cannot move its checkpoint.
 */
import type { Hlc } from '../../../lib/hlc.js';
import type { InternalDb, Row } from '../backend/internal-db.js';
import type { FeedRuntimeOptions } from '../changefeed/options.js';
import { bigLit, ident, lit } from '../sql/literals.js';
import type { FeedEvent } from './encoder.js';

export interface JobTarget {
  relid: string;
  schema: string;
  table: string;
  topic: string;
  full_name: string;
  key_columns: string[];
  columns: string[];
}

export interface JobRecord {
  id: string;
  status: string;
  hw: Hlc | null;
  start: Hlc;
  scanPending: boolean;
  initialScan: 'yes' | 'no' | 'only';
  sinkUri: string;
  sinkUriRedacted: string;
  targets: JobTarget[];
  options: FeedRuntimeOptions;
  resolvedSent: Hlc | null;
}

const hlcOf = (w: string | null | undefined, l: string | null | undefined): Hlc | null =>
  w === null || w === undefined ? null : { nanos: BigInt(w), logical: Number(l ?? '0') };
const s = (r: Row, k: string): string => r[k] ?? '';

export async function loadJob(db: InternalDb, id: string): Promise<JobRecord | undefined> {
  const rows = await db.query(
    `SELECT id, status, hw_wall, hw_logical, start_wall, start_logical, scan_pending, initial_scan, sink_uri, sink_uri_redacted,
            targets, options, resolved_wall, resolved_logical
       FROM _crdb_emulator.jobs WHERE id = ${bigLit(id)}`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    id: s(r, 'id'),
    status: s(r, 'status'),
    hw: hlcOf(r.hw_wall, r.hw_logical),
    start: hlcOf(r.start_wall, r.start_logical) as Hlc,
    scanPending: r.scan_pending === 't' || r.scan_pending === 'true',
    initialScan: s(r, 'initial_scan') as JobRecord['initialScan'],
    sinkUri: s(r, 'sink_uri'),
    sinkUriRedacted: s(r, 'sink_uri_redacted'),
    // jsonb as text: relids and options hold no values beyond JSON's safe range (ns are strings).
    targets: JSON.parse(s(r, 'targets')) as JobTarget[],
    options: JSON.parse(s(r, 'options')) as FeedRuntimeOptions,
    resolvedSent: hlcOf(r.resolved_wall, r.resolved_logical),
  };
}

export async function listActiveJobs(db: InternalDb): Promise<Array<{ id: string; status: string }>> {
  const rows = await db.query(
    "SELECT id, status FROM _crdb_emulator.jobs WHERE status IN ('running', 'pause-requested', 'cancel-requested') ORDER BY id",
  );
  return rows.map((r) => ({ id: s(r, 'id'), status: s(r, 'status') }));
}

export async function readClosed(db: InternalDb): Promise<Hlc> {
  const r = (await db.query('SELECT closed_wall, closed_logical FROM _crdb_emulator.clock WHERE id = 1'))[0];
  return hlcOf(r?.closed_wall, r?.closed_logical) ?? { nanos: 0n, logical: 0 };
}

export interface EventCursor {
  hlc: Hlc;
  seq: bigint;
}

/** Events of the given tables strictly after `after` and at or below `upTo`, in HLC order. */
export async function readEvents(db: InternalDb, relids: readonly string[], after: EventCursor, upTo: Hlc, limit: number): Promise<FeedEvent[]> {
  const rows = await db.query(
    `SELECT wall, logical, seq, relid, key, after, before FROM _crdb_emulator.events
      WHERE relid IN (${relids.map(bigLit).join(', ')})
        AND (wall, logical, seq) > (${bigLit(after.hlc.nanos)}, ${bigLit(after.hlc.logical)}, ${bigLit(after.seq)})
        AND (wall, logical) <= (${bigLit(upTo.nanos)}, ${bigLit(upTo.logical)})
      ORDER BY wall, logical, seq
      LIMIT ${limit}`,
  );
  return rows.map((r) => ({
    hlc: { nanos: BigInt(s(r, 'wall')), logical: Number(s(r, 'logical')) },
    seq: s(r, 'seq'),
    relid: s(r, 'relid'),
    key: s(r, 'key'),
    after: r.after ?? null,
    before: r.before ?? null,
  }));
}

/**
 * The rows of a table as of `at`: current rows, with every key changed after `at` (stamped or
 * still unstamped) rolled back to its image from just before its first later change. One
 * REPEATABLE READ snapshot so current rows and the change log agree.
 */
export async function scanTable(db: InternalDb, target: JobTarget, at: Hlc): Promise<Array<{ key: string; row: string }>> {
  const rel = bigLit(target.relid);
  const keyExpr = `jsonb_build_array(${(target.key_columns.length ? target.key_columns : target.columns).map((c) => `r.row -> ${lit(c)}`).join(', ')})`;
  const sql = `
    WITH cur AS (
      SELECT to_jsonb(t) AS row FROM ONLY ${qualified(target)} t
    ), cur_k AS (
      SELECT ${keyExpr} AS key, r.row FROM cur r
    ), later AS (
      SELECT key, before, 0 AS src, wall, logical, seq FROM _crdb_emulator.events
       WHERE relid = ${rel} AND (wall, logical) > (${bigLit(at.nanos)}, ${bigLit(at.logical)})
      UNION ALL
      SELECT key, before, 1, NULL, NULL, seq FROM _crdb_emulator.changes WHERE relid = ${rel}
    ), first_later AS (
      SELECT DISTINCT ON (key) key, before FROM later ORDER BY key, src, wall, logical, seq
    )
    SELECT key::text AS key, row::text AS row FROM cur_k WHERE key NOT IN (SELECT key FROM first_later)
    UNION ALL
    SELECT key::text, before::text FROM first_later WHERE before IS NOT NULL`;
  const rows = await db.transaction((q) => q.query(sql), 'REPEATABLE READ');
  return rows.map((r) => ({ key: s(r, 'key'), row: s(r, 'row') }));
}

const qualified = (t: JobTarget) => `${ident(t.schema)}.${ident(t.table)}`;

const guard = (id: string) => `id = ${bigLit(id)} AND status = 'running'`;

/** Moves the high-water mark; false when the job is no longer running. */
export async function saveCheckpoint(db: InternalDb, id: string, hw: Hlc, runningStatus: string, resolvedSent?: Hlc): Promise<boolean> {
  const resolved = resolvedSent ? `, resolved_wall = ${bigLit(resolvedSent.nanos)}, resolved_logical = ${bigLit(resolvedSent.logical)}` : '';
  const rows = await db.query(
    `UPDATE _crdb_emulator.jobs SET hw_wall = ${bigLit(hw.nanos)}, hw_logical = ${bigLit(hw.logical)}, running_status = ${lit(runningStatus)},
            scan_pending = false, modified = now()${resolved}
      WHERE ${guard(id)} RETURNING id`,
  );
  return rows.length > 0;
}

export async function saveRunningStatus(db: InternalDb, id: string, runningStatus: string): Promise<void> {
  await db.query(`UPDATE _crdb_emulator.jobs SET running_status = ${lit(runningStatus)}, modified = now() WHERE ${guard(id)}`);
}

export async function markSucceeded(db: InternalDb, id: string): Promise<void> {
  await db.query(`UPDATE _crdb_emulator.jobs SET status = 'succeeded', finished = now(), modified = now() WHERE ${guard(id)}`);
}

/** pause-requested -> paused, cancel-requested -> canceled, once the feed has stopped. */
export async function completeRequest(db: InternalDb, id: string, from: 'pause-requested' | 'cancel-requested'): Promise<void> {
  const to = from === 'pause-requested' ? "status = 'paused'" : "status = 'canceled', finished = now()";
  await db.query(`UPDATE _crdb_emulator.jobs SET ${to}, modified = now() WHERE id = ${bigLit(id)} AND status = ${lit(from)}`);
}
