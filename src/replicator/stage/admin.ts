/**
 * Staging helpers for operators and the wizard: a read-only report of what staging holds per target
 * schema, a targeted clean-up (staged mutations of some tables, optionally the schema's checkpoints),
 * and dropping the engine's tables. Each call opens and closes its own small pool. Clean-up refuses to
 * run while an engine holds the schema's apply lease, because deleting rows under a running apply loop
 * would silently skip them.
 */
import { AppError, ExitCode } from '../../lib/errors.js';
import { formatHlc } from '../../lib/hlc.js';
import { silentLogger } from '../../lib/log.js';
import type { TargetSchema } from '../types.js';
import { openStagingPool, stagingError, type StagingPool } from './connect.js';
import { ident, stagingSql, stagingTable, TABLES, type StagingTable } from './sql.js';
import { hlcOf, schemaPartsOf } from './store.js';

export interface StagingTargetReport {
  /** Canonical key of the target schema (lower-cased, dotted). */
  readonly targetSchema: string;
  /** Spelling from the webhook path. */
  readonly parts: readonly string[];
  /** Applied checkpoint as an HLC decimal, null when nothing was applied yet. */
  readonly applied: string | null;
  readonly appliedAt: string | null;
  /** Newest resolved timestamp received, null when none. */
  readonly latestResolved: string | null;
  /** Staged mutations above the applied checkpoint, per table as sent. */
  readonly pending: Readonly<Record<string, number>>;
  readonly pendingTotal: number;
  /** HLC of the oldest staged mutation above the checkpoint. */
  readonly oldestPending: string | null;
  /** Current apply lease, when one is live. */
  readonly lease: { readonly holder: string; readonly expires: string } | null;
}

export interface StagingReport {
  /** db.schema */
  readonly stagingSchema: string;
  /** False when the database, schema or the engine's tables do not exist (nothing staged). */
  readonly exists: boolean;
  readonly targets: readonly StagingTargetReport[];
}

const hlcText = (nanos: string, logical: number): string | null => (nanos === '0' && Number(logical) === 0 ? null : formatHlc(hlcOf(nanos, logical)));
const targetKey = (t: string | TargetSchema): string => (typeof t === 'string' ? t.toLowerCase() : t.key);

/** A small pool on the staging schema, or undefined when its database or schema does not exist. */
async function openExisting(conn: string, stagingSchema: string): Promise<StagingPool | undefined> {
  try {
    return await openStagingPool(conn, stagingSchema, { create: false, log: silentLogger(), maxPoolSize: 2 });
  } catch (err) {
    if (err instanceof AppError && err.code === 'STAGING_MISSING') return undefined;
    throw err;
  }
}

/** Names of every table in the staging schema (the engine's and any others). */
async function tablesIn(s: StagingPool): Promise<string[]> {
  const present = await s.pool.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [s.schema]);
  return present.rows.map((r) => r.table_name);
}

async function withStaging<T>(conn: string, stagingSchema: string, fn: (s: StagingPool) => Promise<T>, onMissing: () => T): Promise<T> {
  const s = await openExisting(conn, stagingSchema);
  if (!s) return onMissing();
  try {
    const names = new Set(await tablesIn(s));
    if (!TABLES.every((t) => names.has(t))) return onMissing();
    return await fn(s);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw stagingError(err, conn, s.database, 'read the staging schema');
  } finally {
    await s.pool.end().catch(() => undefined);
  }
}

/** What staging holds, per target schema. Read-only. */
export async function inspectStaging(stagingConn: string, stagingSchema: string): Promise<StagingReport> {
  return withStaging<StagingReport>(
    stagingConn,
    stagingSchema,
    async (s) => {
      const q = (t: StagingTable) => stagingTable(s.schema, t);
      const { latestResolved } = stagingSql(s.schema);
      const cps = await s.pool.query<{ target_schema: string; schema_parts: string; nanos: string; logical: number; applied_at: Date | null }>(
        `SELECT target_schema, schema_parts, nanos, logical, applied_at FROM ${q('failback_checkpoints')} ORDER BY target_schema`,
      );
      const targets: StagingTargetReport[] = [];
      for (const c of cps.rows) {
        const args = [c.target_schema, c.nanos, c.logical];
        const [latest, pending, oldest, lease] = await Promise.all([
          s.pool.query<{ nanos: string; logical: number }>(latestResolved, [c.target_schema]),
          s.pool.query<{ table_name: string; n: string }>(
            `SELECT table_name, count(*) AS n FROM ${q('failback_mutations')} WHERE target_schema = $1 AND (nanos, logical) > ($2, $3) GROUP BY table_name ORDER BY table_name`,
            args,
          ),
          s.pool.query<{ nanos: string; logical: number }>(
            `SELECT nanos, logical FROM ${q('failback_mutations')} WHERE target_schema = $1 AND (nanos, logical) > ($2, $3) ORDER BY nanos, logical LIMIT 1`,
            args,
          ),
          s.pool.query<{ holder: string; expires: Date }>(`SELECT holder, expires FROM ${q('failback_leases')} WHERE name = $1 AND expires > now()`, [`apply:${c.target_schema}`]),
        ]);
        const per: Record<string, number> = {};
        let total = 0;
        for (const r of pending.rows) {
          per[r.table_name] = Number(r.n);
          total += Number(r.n);
        }
        targets.push({
          targetSchema: c.target_schema,
          parts: schemaPartsOf(c.target_schema, c.schema_parts),
          applied: hlcText(c.nanos, c.logical),
          appliedAt: c.applied_at ? new Date(c.applied_at).toISOString() : null,
          latestResolved: latest.rows[0] ? hlcText(latest.rows[0].nanos, latest.rows[0].logical) : null,
          pending: per,
          pendingTotal: total,
          oldestPending: oldest.rows[0] ? hlcText(oldest.rows[0].nanos, oldest.rows[0].logical) : null,
          lease: lease.rows[0] ? { holder: lease.rows[0].holder, expires: new Date(lease.rows[0].expires).toISOString() } : null,
        });
      }
      return { stagingSchema: s.name, exists: true, targets };
    },
    () => ({ stagingSchema: stagingSchema.includes('.') ? stagingSchema : `${stagingSchema}.public`, exists: false, targets: [] }),
  );
}

export interface CleanOptions {
  /** Target schema as "db.schema" / "db" / "SCHEMA" (matched case-insensitively) or a TargetSchema. */
  readonly targetSchema: string | TargetSchema;
  /** Only these tables (as named in the changefeed topic, case-insensitive); all when absent. */
  readonly tables?: readonly string[];
  /** Also delete the schema's resolved timestamps, applied checkpoint and lease (a fresh start). */
  readonly includeCheckpoints?: boolean;
}

/**
 * Deletes staged mutations of one target schema (optionally only some tables), and with
 * includeCheckpoints its resolved timestamps and applied checkpoint too. Refuses while an engine holds
 * the schema's apply lease. Returns the rows deleted.
 */
export async function cleanStaging(stagingConn: string, stagingSchema: string, options: CleanOptions): Promise<{ mutations: number; checkpoints: number }> {
  const key = targetKey(options.targetSchema);
  return withStaging(
    stagingConn,
    stagingSchema,
    async (s) => {
      const q = (t: StagingTable) => stagingTable(s.schema, t);
      const client = await s.pool.connect();
      try {
        await client.query('BEGIN');
        const lease = await client.query<{ holder: string }>(`SELECT holder FROM ${q('failback_leases')} WHERE name = $1 AND expires > now() FOR UPDATE`, [`apply:${key}`]);
        if ((lease.rowCount ?? 0) > 0) {
          throw new AppError('STAGING_IN_USE', `an engine is applying target schema ${key} right now (lease holder ${lease.rows[0]?.holder}); stop it before cleaning staging.`, {
            exitCode: ExitCode.FAILED,
            actions: ['Stop the engine (SIGTERM) and run the clean-up again.'],
          });
        }
        const tables = options.tables?.map((t) => t.toLowerCase());
        const muts = tables
          ? await client.query(`DELETE FROM ${q('failback_mutations')} WHERE target_schema = $1 AND lower(table_name) = ANY($2::TEXT[])`, [key, tables])
          : await client.query(`DELETE FROM ${q('failback_mutations')} WHERE target_schema = $1`, [key]);
        let checkpoints = 0;
        if (options.includeCheckpoints) {
          const r = await client.query(`DELETE FROM ${q('failback_resolved')} WHERE target_schema = $1`, [key]);
          const c = await client.query(`DELETE FROM ${q('failback_checkpoints')} WHERE target_schema = $1`, [key]);
          await client.query(`DELETE FROM ${q('failback_leases')} WHERE name = $1`, [`apply:${key}`]);
          checkpoints = (r.rowCount ?? 0) + (c.rowCount ?? 0);
        }
        await client.query('COMMIT');
        return { mutations: muts.rowCount ?? 0, checkpoints };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    () => ({ mutations: 0, checkpoints: 0 }),
  );
}

/**
 * Drops the engine's staging tables, then the schema itself when nothing else is left in it (MOLT
 * Replicator's tables may share the schema; they are never touched). Idempotent.
 */
export async function dropStagingSchema(stagingConn: string, stagingSchema: string): Promise<{ droppedTables: string[]; droppedSchema: boolean }> {
  const s = await openExisting(stagingConn, stagingSchema);
  if (!s) return { droppedTables: [], droppedSchema: false };
  try {
    const present = await tablesIn(s);
    const ours = present.filter((t): t is StagingTable => (TABLES as readonly string[]).includes(t));
    for (const t of ours) await s.pool.query(`DROP TABLE IF EXISTS ${stagingTable(s.schema, t)}`);
    const left = present.length - ours.length;
    let droppedSchema = false;
    if (left === 0 && s.schema !== 'public') {
      try {
        // RESTRICT (the default): anything else still in the schema keeps it.
        await s.pool.query(`DROP SCHEMA IF EXISTS ${ident(s.schema)}`);
        droppedSchema = true;
      } catch {
        droppedSchema = false;
      }
    }
    return { droppedTables: ours, droppedSchema };
  } catch (err) {
    throw stagingError(err, stagingConn, s.database, `drop the staging tables in ${s.name}`);
  } finally {
    await s.pool.end().catch(() => undefined);
  }
}

export interface PurgeResult {
  /** dropped: the engine's tables (and the then-empty schema) are gone; cleaned: only this target schema's rows. */
  readonly mode: 'dropped' | 'cleaned' | 'absent';
  readonly droppedTables: readonly string[];
  readonly droppedSchema: boolean;
  /** Other target schemas whose staged data kept the tables (cleaned mode). */
  readonly others: readonly string[];
  readonly mutations: number;
  readonly checkpoints: number;
}

/**
 * Removes one failback's staging data. Staging tables are shared by every target schema that uses the
 * same --stagingSchema, so the tables are dropped only when no other target schema has rows in them;
 * otherwise only this schema's mutations, resolved timestamps, checkpoint and lease are deleted.
 */
export async function purgeTargetSchema(stagingConn: string, stagingSchema: string, targetSchema: string | TargetSchema): Promise<PurgeResult> {
  const ours = targetKey(targetSchema);
  const report = await inspectStaging(stagingConn, stagingSchema);
  const others = report.targets.map((t) => t.targetSchema).filter((k) => k !== ours);
  if (others.length > 0) {
    const r = await cleanStaging(stagingConn, stagingSchema, { targetSchema, includeCheckpoints: true });
    return { mode: 'cleaned', droppedTables: [], droppedSchema: false, others, ...r };
  }
  const d = await dropStagingSchema(stagingConn, stagingSchema);
  return { mode: d.droppedTables.length > 0 ? 'dropped' : 'absent', ...d, others: [], mutations: 0, checkpoints: 0 };
}
