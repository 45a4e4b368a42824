/**
 * PostgreSQL-side evidence for where time goes: per-database counters (transactions, tuples, time
 * backends spent executing), per-table counters of the staging tables, the CPU used by the backends
 * serving our databases, and pg_stat_statements when the server preloads it (it cannot be enabled
 * without a restart, which the bench must not do to a shared server). The bench databases are created
 * for one phase, so their counters are that phase's alone.
 */
import pg from 'pg';
import { readCpuSeconds } from '../lib/proc.js';
import { pgUrlFor, withPgAdmin } from './pg-admin.js';

export interface DatabaseStats {
  readonly xactCommit: number;
  readonly xactRollback: number;
  readonly tupInserted: number;
  readonly tupUpdated: number;
  readonly tupDeleted: number;
  readonly tupReturned: number;
  readonly tupFetched: number;
  readonly blksRead: number;
  readonly blksHit: number;
  readonly tempBytes: number;
  readonly deadlocks: number;
  /** Milliseconds backends spent executing statements in this database (PostgreSQL 14+). */
  readonly activeTimeMs: number;
}

export interface TableStats {
  readonly table: string;
  readonly seqScan: number;
  /** Rows read by sequential scans. */
  readonly seqTupRead: number;
  readonly idxScan: number;
  /** Live rows fetched by index scans. */
  readonly idxTupFetch: number;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
  readonly liveTuples: number;
  readonly deadTuples: number;
}

export interface StatementStats {
  readonly database: string;
  readonly query: string;
  readonly calls: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly rows: number;
}

export async function databaseStats(adminUrl: string, name: string): Promise<DatabaseStats | undefined> {
  return withPgAdmin(adminUrl, async (c) => {
    const r = await c.query(
      `SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_returned, tup_fetched,
              blks_read, blks_hit, temp_bytes, deadlocks, active_time
         FROM pg_stat_database WHERE datname = $1`,
      [name],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const n = (k: string) => Math.round(Number(row[k] ?? 0));
    return {
      xactCommit: n('xact_commit'),
      xactRollback: n('xact_rollback'),
      tupInserted: n('tup_inserted'),
      tupUpdated: n('tup_updated'),
      tupDeleted: n('tup_deleted'),
      tupReturned: n('tup_returned'),
      tupFetched: n('tup_fetched'),
      blksRead: n('blks_read'),
      blksHit: n('blks_hit'),
      tempBytes: n('temp_bytes'),
      deadlocks: n('deadlocks'),
      activeTimeMs: n('active_time'),
    };
  });
}

export async function tableStats(adminUrl: string, database: string): Promise<TableStats[]> {
  const client = new pg.Client({ connectionString: pgUrlFor(adminUrl, database) });
  await client.connect();
  try {
    const r = await client.query(
      `SELECT schemaname || '.' || relname AS t, seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan,
              coalesce(idx_tup_fetch, 0) AS idx_tup_fetch, n_tup_ins, n_tup_upd,
              n_tup_del, n_live_tup, n_dead_tup
         FROM pg_stat_user_tables ORDER BY 1`,
    );
    return r.rows.map((row) => ({
      table: row.t as string,
      seqScan: Number(row.seq_scan),
      seqTupRead: Number(row.seq_tup_read),
      idxScan: Number(row.idx_scan),
      idxTupFetch: Number(row.idx_tup_fetch),
      inserted: Number(row.n_tup_ins),
      updated: Number(row.n_tup_upd),
      deleted: Number(row.n_tup_del),
      liveTuples: Number(row.n_live_tup),
      deadTuples: Number(row.n_dead_tup),
    }));
  } finally {
    await client.end();
  }
}

export interface IndexStats {
  readonly index: string;
  readonly scans: number;
  /** Index entries read (dead ones included): what a scan over deleted-but-not-vacuumed rows costs. */
  readonly tupRead: number;
  readonly tupFetch: number;
}

export async function indexStats(adminUrl: string, database: string): Promise<IndexStats[]> {
  const client = new pg.Client({ connectionString: pgUrlFor(adminUrl, database) });
  await client.connect();
  try {
    const r = await client.query(
      `SELECT schemaname || '.' || indexrelname AS i, idx_scan, idx_tup_read, idx_tup_fetch
         FROM pg_stat_user_indexes ORDER BY idx_tup_read DESC`,
    );
    return r.rows.map((row) => ({
      index: row.i as string,
      scans: Number(row.idx_scan),
      tupRead: Number(row.idx_tup_read),
      tupFetch: Number(row.idx_tup_fetch),
    }));
  } finally {
    await client.end();
  }
}

export interface BackendCpu {
  readonly pid: number;
  readonly database: string;
  readonly cpuSeconds: number;
}

/**
 * CPU seconds used so far by each live backend connected to the given databases (from /proc, so the
 * server must be on this machine). Backends that exit between two readings take their CPU with them,
 * so a delta of two readings is a lower bound.
 */
export async function backendCpu(adminUrl: string, databases: readonly string[]): Promise<BackendCpu[]> {
  return withPgAdmin(adminUrl, async (c) => {
    const r = await c.query<{ pid: number; datname: string }>(
      // The bench's own connections (verification, LISTEN) name themselves and are left out.
      "SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid() AND application_name <> 'molt-bench'",
      [databases],
    );
    const out: BackendCpu[] = [];
    for (const { pid, datname } of r.rows) {
      const cpu = readCpuSeconds(pid);
      if (cpu !== undefined) out.push({ pid, database: datname, cpuSeconds: cpu });
    }
    return out;
  });
}

export async function statementStatsAvailable(adminUrl: string): Promise<boolean> {
  return withPgAdmin(adminUrl, async (c) => {
    const r = await c.query<{ s: string }>("SELECT current_setting('shared_preload_libraries') AS s");
    return r.rows[0]!.s.split(',').some((lib) => lib.trim() === 'pg_stat_statements');
  });
}

/**
 * Top statements by total time in the given databases. The extension's view is created in `via`, a
 * bench database dropped afterwards, so the shared server keeps no trace of the bench.
 */
export async function topStatements(adminUrl: string, via: string, databases: readonly string[], limit = 15): Promise<StatementStats[]> {
  return withPgAdmin(pgUrlFor(adminUrl, via), async (c) => {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const r = await c.query(
      `SELECT d.datname, s.query, s.calls, s.total_exec_time, s.mean_exec_time, s.rows
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = ANY($1) ORDER BY s.total_exec_time DESC LIMIT $2`,
      [databases, limit],
    );
    return r.rows.map((row) => ({
      database: row.datname as string,
      query: String(row.query).replace(/\s+/g, ' ').slice(0, 300),
      calls: Number(row.calls),
      totalMs: Math.round(Number(row.total_exec_time)),
      meanMs: Math.round(Number(row.mean_exec_time) * 1000) / 1000,
      rows: Number(row.rows),
    }));
  });
}
