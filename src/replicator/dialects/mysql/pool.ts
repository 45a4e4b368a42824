/**
 * TargetPool over a mysql2 promise pool: transactions, writes, introspection, privileges and
 * verification reads against a MySQL 8 or MariaDB target.
 */
import type { FieldPacket, Pool, PoolConnection, TypeCastField, TypeCastNext } from 'mysql2/promise';
import type { JsonValue } from '../../../lib/exact-json.js';
import type { Logger } from '../../../lib/log.js';
import { redactText } from '../../../lib/conn.js';
import type {
  ColumnInfo,
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
import type { WriteLimits } from '../shared/statement.js';
import { assertOpen, runStatements, targetUnreachable } from '../shared/target.js';
import { fromCanonical } from '../shared/values.js';
import { MY_SESSION_SETUP, flavorFromVersion, type ServerFlavor } from './driver.js';
import { classifyMy } from './errors.js';
import { introspectMy, resolveMySchema } from './introspect.js';
import { checkMyPrivileges, myGrantStatements } from './privileges.js';
import { renderDelete, renderSelectByKeys, renderSelectPage, renderUpsert, type MyStatement } from './sql.js';

const BINARY_TYPE = /^(binary|varbinary|bit|tinyblob|blob|mediumblob|longblob|geometry|point|linestring|polygon|multi|geomcollection|geometrycollection)\b/i;

interface CallbackConnection {
  query(sql: string, callback: (err: Error | null) => void): unknown;
}

interface Writable {
  query(
    sql: string | { sql: string; values: null; rowsAsArray?: boolean; typeCast?: (field: TypeCastField, next: TypeCastNext) => unknown },
    values?: unknown,
  ): Promise<[unknown, FieldPacket[]]>;
}

/**
 * readByKeys' typeCast, as readRows': the server's text for a column (aliased c<index>), or its bytes
 * for binary types (BINARY(16) UUIDs, BIT(1) booleans, blobs).
 */
const textOrBytes = (columns: readonly ColumnInfo[]) => (field: TypeCastField, _next: TypeCastNext) => {
  const col = columns[Number(field.name.slice(1))];
  return col && BINARY_TYPE.test(col.type) ? field.buffer() : field.string();
};

/** A row read with textOrBytes as canonical text. */
const canonicalRow = (columns: readonly ColumnInfo[], row: readonly (string | Buffer | null)[]): NormalisedRow =>
  columns.map((c, i) => {
    const v = row[i];
    return v === null || v === undefined ? null : canonicalByClass(c.class, v);
  });

class MyTx implements TargetTx {
  done = false;
  constructor(
    private readonly conn: Writable,
    private readonly limits: WriteLimits,
    private readonly flavor: ServerFlavor,
  ) {}

  // Statements are inlined here rather than by mysql2 (the same literals, see MyStatement.inline) and
  // sent as plain text; values: null keeps mysql2 from scanning the finished text for placeholders again.
  private exec = async (sql: string): Promise<number> => {
    const [r] = await this.conn.query({ sql, values: null });
    return (r as { affectedRows?: number }).affectedRows ?? 0;
  };

  private static inline = (s: MyStatement): string => s.inline();

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
    const statements = shapeUpserts(table, rows).flatMap((g) => renderUpsert(schema, table, g, this.limits, this.flavor.upsertStyle));
    // affectedRows counts an updated row twice and an unchanged one not at all: count rows sent.
    const total = statements.reduce((n, s) => n + s.rows, 0);
    return async (options) => {
      assertOpen(this.done);
      const r = await runStatements(statements, this.exec, options?.signal, MyTx.inline);
      return { rows: total, statements: r.statements };
    };
  }

  prepareDelete(schema: TargetSchema, table: TableInfo, keys: readonly (readonly JsonValue[])[]): PreparedWrite {
    assertOpen(this.done);
    const { columns, rows } = shapeDeletes(table, keys);
    const statements = renderDelete(schema, table, columns, rows, this.limits);
    return (options) => {
      assertOpen(this.done);
      return runStatements(statements, this.exec, options?.signal, MyTx.inline);
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
        const [r] = await this.conn.query({ sql: s.inline(), values: null, typeCast: textOrBytes(read), rowsAsArray: true });
        return (r as (string | Buffer | null)[][]).map((row) => canonicalRow(read, row));
      },
    );
  }
}

export class MySqlTargetPool implements TargetPool {
  private flavorPromise: Promise<ServerFlavor> | undefined;

  constructor(
    readonly dialect: Dialect,
    private readonly pool: Pool,
    log: Logger,
    private readonly limits: WriteLimits,
  ) {
    // 'connection' fires once per new connection, before it is handed out; mysql2 runs a connection's
    // commands in order, so the settings are in place for its first statement.
    // The listener receives mysql2's callback-style connection, whatever the promise typings say.
    pool.on('connection', (conn) => {
      (conn as unknown as CallbackConnection).query(MY_SESSION_SETUP, (err) => {
        if (err) log.warn({ err: redactText(err.message) }, 'target session setup failed');
      });
    });
  }

  /** Server flavour, read once; a failed read is retried on the next call. */
  private flavor = (): Promise<ServerFlavor> => {
    this.flavorPromise ??= this.version()
      .then(flavorFromVersion)
      .catch((err: unknown) => {
        this.flavorPromise = undefined;
        throw err;
      });
    return this.flavorPromise;
  };

  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw targetUnreachable('MySQL', err);
    }
  }

  async version(): Promise<string> {
    const [rows] = await this.pool.query('SELECT VERSION() AS v');
    return String((rows as { v: string }[])[0]!.v);
  }

  async currentUser(): Promise<string> {
    const [rows] = await this.pool.query('SELECT CURRENT_USER() AS u');
    return String((rows as { u: string }[])[0]!.u);
  }

  async introspect(schema: TargetSchema): Promise<SchemaInfo | undefined> {
    const { flavor } = await this.flavor();
    return introspectMy(this.pool, schema, flavor);
  }

  async transaction<T>(fn: (tx: TargetTx) => Promise<T>): Promise<T> {
    // Learn the flavour before taking a connection: the upsert syntax depends on it.
    const flavor = await this.flavor();
    const conn: PoolConnection = await this.pool.getConnection();
    const tx = new MyTx(conn, this.limits, flavor);
    let broken = false;
    try {
      await conn.query('START TRANSACTION');
      const result = await fn(tx);
      await conn.commit();
      return result;
    } catch (err) {
      await conn.rollback().catch(() => (broken = true));
      throw err;
    } finally {
      tx.done = true;
      // A connection whose ROLLBACK failed is not trusted again.
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  classify(err: unknown): ErrorClass {
    return classifyMy(err);
  }

  async checkPrivileges(schema: TargetSchema, user: string, tables: readonly string[]): Promise<PrivilegeReport> {
    const resolved = await resolveMySchema(this.pool, schema);
    if (!resolved) return { user, missing: new Map(), absentTables: [...tables] };
    return checkMyPrivileges(this.pool, resolved, user, tables);
  }

  grantStatements(schema: TargetSchema, report: PrivilegeReport): string[] {
    return myGrantStatements(schema, report);
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
    // The server's text for every column, or its bytes for binary types (BINARY(16) UUIDs, BIT(1)
    // booleans, blobs); columns are aliased c<index> by renderSelectPage.
    const typeCast = (field: TypeCastField, _next: TypeCastNext) => {
      const col = table.columns[Number(field.name.slice(1))];
      return col && BINARY_TYPE.test(col.type) ? field.buffer() : field.string();
    };
    const [rows] = await this.pool.query({ sql: s.sql, values: s.params as unknown[], typeCast, rowsAsArray: true });
    return (rows as (string | Buffer | null)[][]).map((row) =>
      table.columns.map((c, i) => {
        const v = row[i];
        return v === null || v === undefined ? null : canonicalByClass(c.class, v);
      }),
    );
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
