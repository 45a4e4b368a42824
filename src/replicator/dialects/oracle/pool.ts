/**
 * TargetPool over a node-oracledb (Thin mode) pool: transactions with executeMany batches, MERGE
 * upserts, introspection, privileges and verification reads. No Oracle server is available to this
 * project's tests: this file is exercised through a fake driver (see test/unit/dialect-oracle*.test.ts).
 */
import type { JsonValue } from '../../../lib/exact-json.js';
import type { Logger } from '../../../lib/log.js';
import type {
  Dialect,
  ErrorClass,
  NormalisedRow,
  PrivilegeReport,
  SchemaInfo,
  TableInfo,
  TargetPool,
  TargetSchema,
  TargetTx,
  WriteOptions,
  WriteResult,
} from '../../types.js';
import { canonicalByClass, canonicalFloat, canonicalFloat32 } from '../shared/canonical.js';
import { requirePrimaryKey, shapeDeletes, shapeUpserts } from '../shared/payload.js';
import type { WriteLimits } from '../shared/statement.js';
import { assertOpen, runStatements, targetUnreachable } from '../shared/target.js';
import { fromCanonical } from '../shared/values.js';
import type { OracleConnectionLike, OracleDriverLike, OraclePoolLike } from './driver.js';
import { classifyOracle } from './errors.js';
import { introspectOracle, resolveOracleSchema } from './introspect.js';
import { checkOraclePrivileges, oracleGrantStatements } from './privileges.js';
import { renderDelete, renderMerge, renderSelectPage, type OracleBatch } from './sql.js';
import type { OracleBindDef } from './values.js';

class OracleTx implements TargetTx {
  done = false;
  constructor(
    private readonly conn: OracleConnectionLike,
    private readonly driver: OracleDriverLike,
    private readonly limits: WriteLimits,
  ) {}

  private bindDef = (d: OracleBindDef): Record<string, unknown> => {
    const type = { string: this.driver.DB_TYPE_VARCHAR, buffer: this.driver.DB_TYPE_RAW, clob: this.driver.DB_TYPE_CLOB, blob: this.driver.DB_TYPE_BLOB }[d.type];
    return d.maxSize === undefined ? { type } : { type, maxSize: d.maxSize };
  };

  private exec = async (b: OracleBatch): Promise<number> => {
    const r = await this.conn.executeMany(b.sql, b.binds, { autoCommit: false, bindDefs: b.bindDefs.map(this.bindDef) });
    return r.rowsAffected ?? 0;
  };

  async upsert(schema: TargetSchema, table: TableInfo, rows: readonly string[], options?: WriteOptions): Promise<WriteResult> {
    assertOpen(this.done);
    const batches = shapeUpserts(table, rows).flatMap((g) => renderMerge(schema, table, g, this.limits));
    const r = await runStatements(batches, this.exec, options?.signal);
    return { rows: batches.reduce((n, b) => n + b.rows, 0), statements: r.statements };
  }

  async delete(
    schema: TargetSchema,
    table: TableInfo,
    keys: readonly (readonly JsonValue[])[],
    options?: WriteOptions,
  ): Promise<WriteResult> {
    assertOpen(this.done);
    const { columns, rows } = shapeDeletes(table, keys);
    return runStatements(renderDelete(schema, table, columns, rows, this.limits), this.exec, options?.signal);
  }
}

export class OracleTargetPool implements TargetPool {
  constructor(
    readonly dialect: Dialect,
    private readonly driver: OracleDriverLike,
    private readonly pool: OraclePoolLike,
    private readonly log: Logger,
    private readonly limits: WriteLimits,
  ) {}

  private async withConnection<T>(fn: (conn: OracleConnectionLike) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    let drop = false;
    try {
      return await fn(conn);
    } catch (err) {
      drop = classifyOracle(err) === 'retry';
      if (drop) this.log.debug({ code: (err as { code?: unknown }).code }, 'dropping an Oracle connection after a connection error');
      throw err;
    } finally {
      await conn.close(drop ? { drop: true } : undefined).catch(() => undefined);
    }
  }

  async ping(): Promise<void> {
    try {
      await this.withConnection((c) => c.execute('SELECT 1 FROM DUAL'));
    } catch (err) {
      throw targetUnreachable('Oracle', err);
    }
  }

  async version(): Promise<string> {
    return this.withConnection(async (c) => `Oracle Database ${c.oracleServerVersionString ?? 'unknown version'}`);
  }

  async currentUser(): Promise<string> {
    return this.withConnection(async (c) => String(((await c.execute('SELECT USER FROM DUAL')).rows ?? [])[0]?.[0] ?? ''));
  }

  introspect(schema: TargetSchema): Promise<SchemaInfo | undefined> {
    return this.withConnection((c) => introspectOracle(c, schema));
  }

  async transaction<T>(fn: (tx: TargetTx) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    const tx = new OracleTx(conn, this.driver, this.limits);
    let drop = false;
    try {
      const result = await fn(tx);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => (drop = true));
      if (drop) this.log.debug({ code: (err as { code?: unknown }).code }, 'dropping an Oracle connection whose rollback failed');
      throw err;
    } finally {
      tx.done = true;
      await conn.close(drop ? { drop: true } : undefined).catch(() => undefined);
    }
  }

  classify(err: unknown): ErrorClass {
    return classifyOracle(err);
  }

  checkPrivileges(schema: TargetSchema, user: string, tables: readonly string[]): Promise<PrivilegeReport> {
    return this.withConnection(async (c) => {
      const resolved = await resolveOracleSchema(c, schema);
      if (!resolved) return { user, missing: new Map(), absentTables: [...tables] };
      return checkOraclePrivileges(c, resolved, user, tables);
    });
  }

  grantStatements(schema: TargetSchema, report: PrivilegeReport): string[] {
    return oracleGrantStatements(schema, report);
  }

  async execAdmin(statements: readonly string[]): Promise<void> {
    await this.withConnection(async (c) => {
      for (const s of statements) await c.execute(s, [], { autoCommit: true });
    });
  }

  readRows(schema: TargetSchema, table: TableInfo, options: { after?: readonly JsonValue[]; limit: number }): Promise<NormalisedRow[]> {
    const keyColumns = requirePrimaryKey(table);
    const after = options.after?.map((v, i) => fromCanonical(keyColumns[i]!.class, v));
    const q = renderSelectPage(schema, table, keyColumns, after, options.limit);
    const fetchInfo = Object.fromEntries(
      Object.entries(q.fetchAs).map(([alias, as]) => [alias, { type: as === 'string' ? this.driver.DB_TYPE_VARCHAR : this.driver.DB_TYPE_RAW }]),
    );
    return this.withConnection(async (c) => {
      const r = await c.execute(q.sql, q.binds, { fetchInfo });
      return ((r.rows ?? []) as unknown[][]).map((row) =>
        table.columns.map((col, i) => {
          const v = row[i];
          if (v === null || v === undefined) return null;
          if (typeof v === 'number') return /^binary_float\b/i.test(col.type) ? canonicalFloat32(v) : canonicalFloat(String(v));
          if (typeof v === 'boolean') return String(v);
          if (Buffer.isBuffer(v)) return canonicalByClass(col.class, v);
          return canonicalByClass(col.class, String(v));
        }),
      );
    });
  }

  async close(): Promise<void> {
    await this.pool.close(10);
  }
}
