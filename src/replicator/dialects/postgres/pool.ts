/**
 * TargetPool over a node-postgres Pool: transactions, writes, introspection, privileges and
 * verification reads against a PostgreSQL target.
 */
import type pg from 'pg';
import type { JsonValue } from '../../../lib/exact-json.js';
import type { Logger } from '../../../lib/log.js';
import { redactText } from '../../../lib/conn.js';
import type {
  Dialect,
  ErrorClass,
  NormalisedRow,
  PrivilegeReport,
  SchemaInfo,
  TableInfo,
  TargetPool,
  TargetSchema,
  PreparedWrite,
  TargetTx,
  WriteOptions,
  WriteResult,
} from '../../types.js';
import { readByKeysWith } from '../shared/by-keys.js';
import { canonicalByClass } from '../shared/canonical.js';
import { requirePrimaryKey, shapeDeletes, shapeUpserts } from '../shared/payload.js';
import type { SqlStatement, WriteLimits } from '../shared/statement.js';
import { assertOpen, runStatements, targetUnreachable } from '../shared/target.js';
import { fromCanonical } from '../shared/values.js';
import { binaryArrayOf, textArrayLiteral } from '../../pg-arrays.js';
import { PG_BEGIN, PG_BEGIN_READ_ONLY } from './driver.js';
import { classifyPg } from './errors.js';
import { introspectPg, resolvePgSchema } from './introspect.js';
import { checkPgPrivileges, pgGrantStatements } from './privileges.js';
import { renderDelete, renderSelectByKeys, renderSelectPage, renderUpsert } from './sql.js';

// readRows wants the server's text for every type (the canonical forms are built from it), not pg's
// JS conversions (Date loses microseconds, numeric would be fine but int8 is a string anyway).
const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

/**
 * The statement's parameters with text arrays of binary-capable element types encoded in binary (the
 * same values; see pg-arrays.ts for why). An array with a value that has no exact binary form here stays
 * text, so the server's input function judges it exactly as before.
 */
function binaryParams(s: SqlStatement): unknown[] {
  const oids = s.arrayElementOids;
  if (!oids) return s.params as unknown[];
  return s.params.map((p, i) => {
    if (!Array.isArray(p)) return p;
    const oid = oids[i];
    const texts = p as (string | null)[];
    return (oid !== undefined ? binaryArrayOf(texts, oid) : undefined) ?? textArrayLiteral(texts);
  });
}

class PgTx implements TargetTx {
  done = false;
  constructor(
    private readonly client: pg.PoolClient,
    private readonly limits: WriteLimits,
  ) {}

  private exec = async (q: { text: string; values: unknown[]; name?: string }): Promise<number> => {
    const r = await this.client.query(q);
    return r.rowCount ?? 0;
  };

  private static encode = (s: SqlStatement) => ({ text: s.sql, values: binaryParams(s), name: s.name });

  async upsert(schema: TargetSchema, table: TableInfo, rows: readonly string[], options?: WriteOptions): Promise<WriteResult> {
    return this.prepareUpsert(schema, table, rows)(options);
  }

  async delete(
    schema: TargetSchema,
    table: TableInfo,
    keys: readonly (readonly JsonValue[])[],
    options?: WriteOptions,
  ): Promise<WriteResult> {
    return this.prepareDelete(schema, table, keys)(options);
  }

  prepareUpsert(schema: TargetSchema, table: TableInfo, rows: readonly string[]): PreparedWrite {
    assertOpen(this.done);
    const statements = shapeUpserts(table, rows).flatMap((g) => renderUpsert(schema, table, g, this.limits));
    // An upserted row counts once, whatever the driver reports.
    const total = statements.reduce((n, s) => n + s.rows, 0);
    return async (options) => {
      assertOpen(this.done);
      const r = await runStatements(statements, this.exec, options?.signal, PgTx.encode);
      return { rows: total, statements: r.statements };
    };
  }

  prepareDelete(schema: TargetSchema, table: TableInfo, keys: readonly (readonly JsonValue[])[]): PreparedWrite {
    assertOpen(this.done);
    const { columns, rows } = shapeDeletes(table, keys);
    const statements = renderDelete(schema, table, columns, rows, this.limits);
    return (options) => {
      assertOpen(this.done);
      return runStatements(statements, this.exec, options?.signal, PgTx.encode);
    };
  }

  async readByKeys(
    schema: TargetSchema,
    table: TableInfo,
    keys: readonly (readonly JsonValue[])[],
    columns: readonly string[],
  ): Promise<(NormalisedRow | undefined)[]> {
    assertOpen(this.done);
    return readByKeysWith(
      table,
      keys,
      columns,
      (keyColumns, rows, others) => renderSelectByKeys(schema, table, keyColumns, rows, others, this.limits),
      async (s, read) => {
        const r = await this.client.query<unknown[]>({ ...PgTx.encode(s), rowMode: 'array', types: RAW_TEXT });
        return r.rows.map((row) => read.map((c, k) => (row[k] === null || row[k] === undefined ? null : canonicalByClass(c.class, String(row[k])))));
      },
    );
  }
}

export class PostgresTargetPool implements TargetPool {
  constructor(
    readonly dialect: Dialect,
    private readonly pool: pg.Pool,
    log: Logger,
    private readonly limits: WriteLimits,
  ) {
    // Without a listener, an idle client's socket error would crash the process (pg emits 'error').
    pool.on('error', (err) => log.warn({ err: redactText(err.message) }, 'idle target connection failed; it will be replaced'));
  }

  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw targetUnreachable('PostgreSQL', err);
    }
  }

  async version(): Promise<string> {
    const r = await this.pool.query<{ version: string }>('SELECT version() AS version');
    return r.rows[0]!.version;
  }

  async currentUser(): Promise<string> {
    const r = await this.pool.query<{ u: string }>('SELECT current_user AS u');
    return r.rows[0]!.u;
  }

  async introspect(schema: TargetSchema): Promise<SchemaInfo | undefined> {
    return this.inTransaction(PG_BEGIN_READ_ONLY, (client) => introspectPg(client, schema));
  }

  async transaction<T>(fn: (tx: TargetTx) => Promise<T>): Promise<T> {
    let tx: PgTx | undefined;
    try {
      return await this.inTransaction(PG_BEGIN, (client) => fn((tx = new PgTx(client, this.limits))));
    } finally {
      if (tx) tx.done = true;
    }
  }

  /**
   * A pooled connection, checked with the transaction's BEGIN. An idle connection the server closed
   * (pg_terminate_backend, an idle timeout, a failover) only reports it when next used: its BEGIN then
   * fails with nothing done, so it is dropped and BEGIN tried on another connection (twice at most),
   * instead of failing a transaction that never started.
   */
  private async begin(begin: string): Promise<{ client: pg.PoolClient; state: { broken?: Error }; onError: (err: Error) => void }> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.pool.connect();
      const state: { broken?: Error } = {};
      // A checked-out client whose socket dies between statements emits 'error' on itself (the pool only
      // listens to idle clients); unhandled, that would crash the process.
      // https://node-postgres.com/apis/pool#releasing-clients
      const onError = (err: Error) => {
        state.broken = err;
      };
      client.on('error', onError);
      try {
        await client.query(begin);
        return { client, state, onError };
      } catch (err) {
        client.off('error', onError);
        client.release(err as Error);
        // Only a lost connection is worth another one (BEGIN fails for nothing else that a retry fixes).
        if (attempt >= 2 || classifyPg(err) !== 'retry') throw err;
      }
    }
  }

  private async inTransaction<T>(begin: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const { client, state, onError } = await this.begin(begin);
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A failed ROLLBACK means the connection is unusable: release(err) destroys it.
      await client.query('ROLLBACK').catch((e: Error) => (state.broken = e));
      throw err;
    } finally {
      client.off('error', onError);
      client.release(state.broken);
    }
  }

  classify(err: unknown): ErrorClass {
    return classifyPg(err);
  }

  async checkPrivileges(schema: TargetSchema, user: string, tables: readonly string[]): Promise<PrivilegeReport> {
    const resolved = await resolvePgSchema(this.pool, schema);
    if (!resolved) return { user, missing: new Map(), absentTables: [...tables], schemaMissing: ['USAGE'] };
    return checkPgPrivileges(this.pool, resolved, user, tables);
  }

  grantStatements(schema: TargetSchema, report: PrivilegeReport): string[] {
    return pgGrantStatements(schema, report);
  }

  async execAdmin(statements: readonly string[]): Promise<void> {
    for (const s of statements) await this.pool.query(s);
  }

  async readRows(
    schema: TargetSchema,
    table: TableInfo,
    options: { after?: readonly JsonValue[]; limit: number },
  ): Promise<NormalisedRow[]> {
    const keyColumns = requirePrimaryKey(table);
    const after = options.after?.map((v, i) => fromCanonical(keyColumns[i]!.class, v));
    const s = renderSelectPage(schema, table, keyColumns, after, options.limit);
    const r = await this.inTransaction(PG_BEGIN_READ_ONLY, (client) =>
      client.query<unknown[]>({ text: s.sql, values: s.params as unknown[], rowMode: 'array', types: RAW_TEXT }),
    );
    return r.rows.map((row) =>
      table.columns.map((c, i) => {
        const v = row[i];
        return v === null || v === undefined ? null : canonicalByClass(c.class, String(v));
      }),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
