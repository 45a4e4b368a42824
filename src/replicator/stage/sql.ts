/**
 * The staging SQL. Every statement must run unchanged on CockroachDB (production) and PostgreSQL
 * (tests), so only the common subset is used: TEXT/INT8/INT4/TIMESTAMPTZ columns, composite primary
 * keys, row-value comparisons, INSERT ... ON CONFLICT, multi-argument unnest() in the select list (as MOLT
 * Replicator's own staging insert does), SELECT ... FOR UPDATE, now() and ::INTERVAL casts
 * of text such as '5000 milliseconds'. Tables are always named with two parts (schema.table): the pool
 * is connected to the staging database itself.
 *
 * Table names carry a `failback_` prefix so they can share a schema (e.g. defaultdb._replicator) with
 * MOLT Replicator's own `checkpoints`, `leases` and `memo` tables without colliding.
 */

/** Quotes an identifier for both CockroachDB and PostgreSQL. */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export const STAGING_VERSION = 1;

export const TABLES = ['failback_mutations', 'failback_resolved', 'failback_checkpoints', 'failback_leases', 'failback_memo'] as const;

export interface StagingSql {
  readonly ddl: readonly string[];
  readonly insertMutations: string;
  readonly insertMutationsPlain: string;
  readonly latestResolved: string;
  readonly insertResolved: string;
  readonly register: string;
  readonly checkpoints: string;
  readonly checkpointOf: string;
  readonly readRange: string;
  readonly readHlcPage: string;
  readonly lockLease: string;
  readonly advanceCheckpoint: string;
  readonly retireMutations: string;
  readonly retireWindow: string;
  readonly retireResolved: string;
  readonly countPending: string;
  readonly acquireLease: string;
  readonly renewLease: string;
  readonly releaseLease: string;
  readonly memoInit: string;
  readonly memoGet: string;
  readonly memoPut: string;
  /** Memo entries with keys in [$1, $2). */
  readonly memoRange: string;
}

export type StagingTable = (typeof TABLES)[number];

/** One of the engine's tables as schema.table (the pool is connected to the staging database). */
export const stagingTable = (schema: string, name: StagingTable): string => `${ident(schema)}.${ident(name)}`;

export function stagingSql(schema: string): StagingSql {
  const t = (name: StagingTable) => stagingTable(schema, name);
  const m = t('failback_mutations');
  const r = t('failback_resolved');
  const c = t('failback_checkpoints');
  const l = t('failback_leases');
  const memo = t('failback_memo');
  return {
    ddl: [
      // One row per (target schema, HLC, table, key): a duplicate delivery hits the key and is a no-op.
      `CREATE TABLE IF NOT EXISTS ${m} (
  target_schema TEXT NOT NULL,
  nanos INT8 NOT NULL,
  logical INT4 NOT NULL,
  table_name TEXT NOT NULL,
  key_json TEXT NOT NULL,
  after_json TEXT NULL,
  before_json TEXT NULL,
  staged_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (target_schema, nanos, logical, table_name, key_json)
)`,
      // Resolved timestamps received, kept until the applied checkpoint passes them (the newest stays).
      `CREATE TABLE IF NOT EXISTS ${r} (
  target_schema TEXT NOT NULL,
  nanos INT8 NOT NULL,
  logical INT4 NOT NULL,
  received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (target_schema, nanos, logical)
)`,
      // The applied checkpoint per target schema: the target equals the source as of (nanos, logical).
      `CREATE TABLE IF NOT EXISTS ${c} (
  target_schema TEXT PRIMARY KEY,
  schema_parts TEXT NOT NULL,
  nanos INT8 NOT NULL,
  logical INT4 NOT NULL,
  applied_at TIMESTAMPTZ NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`,
      `CREATE TABLE IF NOT EXISTS ${l} (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires TIMESTAMPTZ NOT NULL
)`,
      `CREATE TABLE IF NOT EXISTS ${memo} (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
)`,
    ],
    // The arrays arrive in binary form (pg-arrays.ts). The plain form fails on a duplicate (and then the
    // store retries with the tolerant form, see putMutations); the tolerant one skips duplicates and
    // counts the rows it did insert per table on the server: one result row per table, not per row.
    insertMutationsPlain: `INSERT INTO ${m} (target_schema, nanos, logical, table_name, key_json, after_json, before_json)
SELECT $1, unnest($2::INT8[]), unnest($3::INT4[]), unnest($4::TEXT[]), unnest($5::TEXT[]), unnest($6::TEXT[]), unnest($7::TEXT[])`,
    insertMutations: `WITH ins AS (
INSERT INTO ${m} (target_schema, nanos, logical, table_name, key_json, after_json, before_json)
SELECT $1, unnest($2::INT8[]), unnest($3::INT4[]), unnest($4::TEXT[]), unnest($5::TEXT[]), unnest($6::TEXT[]), unnest($7::TEXT[])
ON CONFLICT DO NOTHING
RETURNING table_name
)
SELECT table_name, count(*) AS n FROM ins GROUP BY table_name`,
    latestResolved: `SELECT nanos, logical FROM ${r} WHERE target_schema = $1 ORDER BY nanos DESC, logical DESC LIMIT 1`,
    insertResolved: `INSERT INTO ${r} (target_schema, nanos, logical) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
    register: `INSERT INTO ${c} (target_schema, schema_parts, nanos, logical) VALUES ($1, $2, 0, 0) ON CONFLICT (target_schema) DO NOTHING`,
    checkpoints: `SELECT target_schema, schema_parts, nanos, logical FROM ${c} ORDER BY target_schema`,
    checkpointOf: `SELECT nanos, logical FROM ${c} WHERE target_schema = $1`,
    readRange: `SELECT nanos, logical, table_name, key_json, after_json, before_json FROM ${m}
WHERE target_schema = $1 AND (nanos, logical) > ($2, $3) AND (nanos, logical) <= ($4, $5)
ORDER BY nanos, logical, table_name, key_json
LIMIT $6`,
    readHlcPage: `SELECT nanos, logical, table_name, key_json, after_json, before_json FROM ${m}
WHERE target_schema = $1 AND nanos = $2 AND logical = $3 AND (table_name, key_json) > ($4, $5)
ORDER BY table_name, key_json
LIMIT $6`,
    // Fencing: the checkpoint only moves while the caller still holds an unexpired lease, and the row
    // lock keeps a competing acquisition waiting until this transaction ends.
    lockLease: `SELECT holder FROM ${l} WHERE name = $1 AND holder = $2 AND expires > now() FOR UPDATE`,
    advanceCheckpoint: `UPDATE ${c} SET nanos = $2, logical = $3, applied_at = now() WHERE target_schema = $1 AND (nanos, logical) < ($2, $3)`,
    // The catch-all sweep (late re-sends below the checkpoint). It scans every entry at or below the
    // checkpoint, the deleted ones too until PostgreSQL vacuums them (CockroachDB: until MVCC GC), so it
    // runs rarely; each applied window is retired with the bounded retireWindow instead.
    retireMutations: `DELETE FROM ${m} WHERE target_schema = $1 AND (nanos, logical) <= ($2, $3)`,
    // Exactly one applied window (from, to]: a range scan of live entries only. Unbounded below, the
    // DELETE re-read every row deleted since the last vacuum (a PostgreSQL bitmap index scan never marks
    // dead index entries), which made each retire cost as much as all earlier ones together.
    retireWindow: `DELETE FROM ${m} WHERE target_schema = $1 AND (nanos, logical) > ($2, $3) AND (nanos, logical) <= ($4, $5)`,
    retireResolved: `DELETE FROM ${r} WHERE target_schema = $1 AND (nanos, logical) < ($2, $3)`,
    countPending: `SELECT count(*) AS n FROM (SELECT 1 FROM ${m} WHERE target_schema = $1 AND (nanos, logical) > ($2, $3) LIMIT $4) AS p`,
    acquireLease: `INSERT INTO ${l} AS cur (name, holder, expires) VALUES ($1, $2, now() + $3::INTERVAL)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE cur.expires < now() OR cur.holder = excluded.holder
RETURNING holder`,
    renewLease: `UPDATE ${l} SET expires = now() + $3::INTERVAL WHERE name = $1 AND holder = $2 AND expires > now() RETURNING holder`,
    releaseLease: `DELETE FROM ${l} WHERE name = $1 AND holder = $2`,
    memoInit: `INSERT INTO ${memo} (key, value) VALUES ('staging-version', $1) ON CONFLICT (key) DO NOTHING`,
    memoGet: `SELECT value FROM ${memo} WHERE key = 'staging-version'`,
    memoPut: `INSERT INTO ${memo} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    memoRange: `SELECT key, value FROM ${memo} WHERE key >= $1 AND key < $2 ORDER BY key`,
  };
}
