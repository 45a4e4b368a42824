/**
 * Oracle at the driver boundary. No Oracle server exists here, so a fake object stands in for the
 * oracledb module (createPool / getConnection / execute / executeMany): the tests assert the statements,
 * binds and bind definitions sent, transaction handling, catalog mapping, privileges, verification reads
 * and the classification of ORA- errors. One test uses the real oracledb (Thin mode) against a closed
 * port to check that a connection failure is a clean, prompt NJS-503 error.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AppError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/lib/log.js';
import { Applier, ApplyError } from '../../src/replicator/apply/index.js';
import { makeOracleDialect, oracleDialect } from '../../src/replicator/dialects/oracle/index.js';
import type { OracleConnectionLike, OracleDriverLike, OracleResult } from '../../src/replicator/dialects/oracle/driver.js';
import type { ApplyPlan, TableInfo, TargetPool } from '../../src/replicator/types.js';
import { CASES, tableFor } from '../golden/cases.js';
import { ZERO_HLC } from '../../src/lib/hlc.js';

interface Call {
  method: 'execute' | 'executeMany' | 'commit' | 'rollback' | 'close';
  sql?: string;
  binds?: unknown;
  options?: Record<string, unknown>;
}

type Handler = (sql: string, binds: unknown) => OracleResult | Promise<OracleResult>;

const DB = {
  DB_TYPE_VARCHAR: Symbol('DB_TYPE_VARCHAR'),
  DB_TYPE_RAW: Symbol('DB_TYPE_RAW'),
  DB_TYPE_CLOB: Symbol('DB_TYPE_CLOB'),
  DB_TYPE_BLOB: Symbol('DB_TYPE_BLOB'),
};

class FakeOracle {
  calls: Call[] = [];
  poolAttributes: Record<string, unknown> = {};
  sessions = 0;
  closed = false;
  /** Answers execute(); executeMany() goes to `many`. */
  query: Handler = () => ({ rows: [] });
  many: Handler = (_sql, binds) => ({ rowsAffected: (binds as unknown[]).length });

  driver(): OracleDriverLike {
    return {
      ...DB,
      createPool: async (attributes) => {
        this.poolAttributes = attributes;
        return {
          getConnection: async () => {
            const conn = this.connection();
            // Like oracledb: a brand-new session goes through sessionCallback before first use.
            this.sessions++;
            const cb = attributes.sessionCallback as (c: OracleConnectionLike, tag: string, done: (e?: unknown) => void) => void;
            await new Promise<void>((resolve, reject) => cb(conn, '', (e) => (e ? reject(e) : resolve())));
            return conn;
          },
          close: async () => {
            this.closed = true;
          },
        };
      },
    };
  }

  private connection(): OracleConnectionLike {
    return {
      oracleServerVersionString: '23.4.0.24.5',
      execute: async (sql, binds, options) => {
        this.calls.push({ method: 'execute', sql, binds, options });
        return this.query(sql, binds);
      },
      executeMany: async (sql, binds, options) => {
        this.calls.push({ method: 'executeMany', sql, binds, options });
        return this.many(sql, binds);
      },
      commit: async () => void this.calls.push({ method: 'commit' }),
      rollback: async () => void this.calls.push({ method: 'rollback' }),
      close: async (options) => void this.calls.push({ method: 'close', options }),
    };
  }

  writes(): Call[] {
    return this.calls.filter((c) => c.method !== 'execute' || !/^ALTER SESSION/.test(c.sql ?? ''));
  }
}

const URL = 'oracle://C%23%23MIGRATION_USER:s3cr3t@db.example.com:1521/ORCLPDB1';
const SCHEMA = { parts: ['MOLT'], key: 'molt' };
const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'oracle');
const oraError = (n: number, text: string) =>
  Object.assign(new Error(`ORA-${String(n).padStart(5, '0')}: ${text}`), { errorNum: n, code: `ORA-${String(n).padStart(5, '0')}` });

async function open(fake: FakeOracle, maxRowsPerStatement?: number): Promise<TargetPool> {
  return makeOracleDialect(() => fake.driver()).connect(URL, { maxPoolSize: 3, log: silentLogger(), maxRowsPerStatement });
}

const employees = tableFor('oracle', CASES.find((c) => c.name === 'single-key')!);

describe('Oracle pool at the driver boundary', () => {
  it('creates a Thin-mode pool lazily with session settings on each new session', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    assert.equal(fake.poolAttributes.user, 'C##MIGRATION_USER');
    assert.equal(fake.poolAttributes.password, 's3cr3t');
    assert.equal(fake.poolAttributes.connectString, 'db.example.com:1521/ORCLPDB1');
    assert.equal(fake.poolAttributes.poolMin, 0);
    assert.equal(fake.poolAttributes.poolMax, 3);
    assert.equal(fake.calls.length, 0, 'no connection until first use');
    fake.query = (sql) => ({ rows: /SELECT USER/.test(sql) ? [['C##MIGRATION_USER']] : [] });
    assert.equal(await pool.currentUser(), 'C##MIGRATION_USER');
    assert.equal(fake.calls[0]!.sql, "ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,' TIME_ZONE = 'UTC' NLS_SORT = 'BINARY' NLS_COMP = 'BINARY'");
    assert.equal(await pool.version(), 'Oracle Database 23.4.0.24.5');
    await pool.close();
    assert.ok(fake.closed);
  });

  it('upserts with one MERGE executeMany per chunk, binds as in the golden file, then commits', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    const rows = ['{"id":1,"name":"Terry","office":"new york city"}', '{"id":1101234051444375553,"name":"Alex","office":"los angeles"}'];
    const r = await pool.transaction((tx) => tx.upsert({ parts: ['MOLT'], key: 'molt' }, employees, rows));
    assert.deepEqual(r, { rows: 2, statements: 1 });
    const writes = fake.writes();
    assert.deepEqual(
      writes.map((c) => c.method),
      ['executeMany', 'commit', 'close'],
    );
    const golden = readFileSync(join(goldenDir, 'single-key.sql'), 'utf8');
    assert.ok(golden.includes(`${writes[0]!.sql};`), 'statement text is the golden one');
    assert.deepEqual(writes[0]!.binds, [
      ['1', 'Terry', 'new york city'],
      ['1101234051444375553', 'Alex', 'los angeles'],
    ]);
    assert.deepEqual(writes[0]!.options, {
      autoCommit: false,
      bindDefs: [
        { type: DB.DB_TYPE_VARCHAR, maxSize: 19 },
        { type: DB.DB_TYPE_VARCHAR, maxSize: 5 },
        { type: DB.DB_TYPE_VARCHAR, maxSize: 13 },
      ],
    });
    await pool.close();
  });

  it('chunks executeMany batches and sums rowsAffected for deletes', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake, 2);
    const keys = [1, 2, 3, 4, 5].map((i) => [String(i)]);
    fake.many = (_sql, binds) => ({ rowsAffected: (binds as unknown[]).length - 1 });
    const r = await pool.transaction((tx) => tx.delete(SCHEMA, employees, keys));
    assert.deepEqual(r, { rows: 2, statements: 3 });
    const many = fake.calls.filter((c) => c.method === 'executeMany');
    assert.deepEqual(
      many.map((c) => (c.binds as unknown[]).length),
      [2, 2, 1],
    );
    assert.equal(many[0]!.sql, 'DELETE FROM "MOLT"."EMPLOYEES"\nWHERE "ID" = TO_NUMBER(:1)');
    await pool.close();
  });

  it('binds RAW(16) UUIDs and BLOBs as bytes', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    const fleet = tableFor('oracle', CASES.find((c) => c.name === 'delete-composite')!);
    await pool.transaction((tx) => tx.delete(SCHEMA, fleet, [['rome', 'd7b18299-c0c4-4304-9ef7-05ae46fd5ee1']]));
    const call = fake.calls.find((c) => c.method === 'executeMany')!;
    assert.deepEqual(call.binds, [['rome', Buffer.from('d7b18299c0c443049ef705ae46fd5ee1', 'hex')]]);
    assert.deepEqual((call.options!.bindDefs as unknown[])[1], { type: DB.DB_TYPE_RAW, maxSize: 16 });
    await pool.close();
  });

  it('rolls back and classifies a parent-key violation as defer; the applier reports defer', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    fake.many = () => {
      throw oraError(2291, 'integrity constraint (MOLT.FK_EMP) violated - parent key not found');
    };
    const err = await pool.transaction((tx) => tx.upsert(SCHEMA, employees, ['{"id":1}'])).catch((e: unknown) => e);
    assert.equal(pool.classify(err), 'defer');
    assert.deepEqual(
      fake.writes().map((c) => c.method),
      ['executeMany', 'rollback', 'close'],
    );

    fake.query = catalog(employees);
    const applier = new Applier({ pool, log: silentLogger(), maxRetries: 3, retryInitialBackoffMs: 1, retryMaxBackoffMs: 2, retryMultiplier: 2 });
    const plan: ApplyPlan = {
      schema: SCHEMA,
      from: ZERO_HLC,
      to: ZERO_HLC,
      ops: [{ kind: 'upsert', table: 'employees', rows: [{ key: '[1]', after: '{"id":1,"name":"x"}', hlc: ZERO_HLC }] }],
    };
    const e = await applier.apply(plan).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    assert.equal(e.errorClass, 'defer');
    assert.equal(e.table, 'EMPLOYEES');
    await pool.close();
  });

  it('retries ORA-00060 (deadlock) to success through the applier', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    fake.query = catalog(employees);
    let failures = 1;
    fake.many = (_sql, binds) => {
      if (failures-- > 0) throw oraError(60, 'deadlock detected while waiting for resource');
      return { rowsAffected: (binds as unknown[]).length };
    };
    const applier = new Applier({ pool, log: silentLogger(), maxRetries: 3, retryInitialBackoffMs: 1, retryMaxBackoffMs: 2, retryMultiplier: 2 });
    const out = await applier.apply({
      schema: SCHEMA,
      from: ZERO_HLC,
      to: ZERO_HLC,
      ops: [{ kind: 'upsert', table: 'EMPLOYEES', rows: [{ key: '[1]', after: '{"ID":1,"NAME":"x"}', hlc: ZERO_HLC }] }],
    });
    assert.equal(out.attempts, 2);
    assert.equal(out.counts.upserts.get('EMPLOYEES'), 1);
    assert.deepEqual(
      fake.writes().map((c) => c.method),
      ['execute', 'execute', 'execute', 'execute', 'execute', 'close', 'executeMany', 'rollback', 'close', 'executeMany', 'commit', 'close'],
    );
    await pool.close();
  });
});

/** A fake catalog answering the introspection queries for the given tables. */
function catalog(...tables: TableInfo[]): Handler {
  return (sql) => {
    if (/FROM ALL_USERS/.test(sql)) return { rows: [['MOLT']] };
    if (/FROM ALL_TAB_COLS/.test(sql)) {
      return {
        rows: tables.flatMap((t) =>
          t.columns.map((c) => {
            const m = /^(\w+)(?:\((\d+)(?:,(\d+))?(?: (CHAR|BYTE))?\))?/.exec(c.type)!;
            const [, dt, p, s, unit] = m;
            const isNum = dt === 'NUMBER';
            return [
              t.name,
              c.name,
              dt,
              isNum ? 22 : Number(p ?? 0),
              isNum ? Number(p) : null,
              isNum ? Number(s ?? 0) : null,
              unit ? Number(p) : 0,
              unit === 'CHAR' ? 'C' : unit === 'BYTE' ? 'B' : null,
              c.nullable ? 'Y' : 'N',
              c.generated ? 'YES' : 'NO',
              c.hasDefault ? 5 : null,
              'NO',
            ];
          }),
        ),
      };
    }
    if (/CONSTRAINT_TYPE = 'P'/.test(sql)) return { rows: tables.flatMap((t) => t.primaryKey.map((k) => [t.name, k])) };
    return { rows: [] };
  };
}

describe('Oracle introspection, privileges and reads (fake catalog)', () => {
  it('maps ALL_TAB_COLS rows to column classes and type texts', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    fake.query = (sql) => {
      if (/FROM ALL_USERS/.test(sql)) return { rows: [['MIGRATION_SCHEMA']] };
      if (/FROM ALL_TAB_COLS/.test(sql)) {
        return {
          rows: [
            ['ORDERS', 'NOTE', 'CLOB', 4000, null, null, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'ID', 'NUMBER', 22, 19, 0, 0, null, 'N', 'NO', null, 'YES'],
            ['ORDERS', 'REGION', 'VARCHAR2', 80, null, null, 20, 'C', 'N', 'NO', null, 'NO'],
            ['ORDERS', 'AMOUNT', 'NUMBER', 22, 12, 2, 0, null, 'Y', 'NO', 4, 'NO'],
            ['ORDERS', 'ANY_NUM', 'NUMBER', 22, null, null, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'REF', 'RAW', 16, null, null, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'AT', 'TIMESTAMP(6) WITH TIME ZONE', 13, null, 6, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'LOCAL_AT', 'TIMESTAMP(6)', 11, null, 6, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'DAY', 'DATE', 7, null, null, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'DOC', 'CLOB', 4000, null, null, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'RATIO', 'BINARY_DOUBLE', 8, null, null, 0, null, 'Y', 'NO', null, 'NO'],
            ['ORDERS', 'TOTAL', 'NUMBER', 22, 14, 2, 0, null, 'Y', 'YES', null, 'NO'],
            ['LINES', 'ORDER_ID', 'NUMBER', 22, 19, 0, 0, null, 'N', 'NO', null, 'NO'],
          ],
        };
      }
      if (/CONSTRAINT_TYPE = 'P'/.test(sql)) return { rows: [['ORDERS', 'REGION'], ['ORDERS', 'ID'], ['LINES', 'ORDER_ID']] };
      if (/CONSTRAINT_TYPE = 'R'/.test(sql)) return { rows: [['LINES', 'ORDERS']] };
      if (/ALL_JSON_COLUMNS/.test(sql)) return { rows: [['ORDERS', 'DOC']] };
      return { rows: [] };
    };
    const info = await pool.introspect({ parts: ['migration_schema'], key: 'migration_schema' });
    assert.ok(info);
    assert.deepEqual(info.schema, { parts: ['MIGRATION_SCHEMA'], key: 'migration_schema' });
    const orders = info.tables.get('orders')!;
    assert.deepEqual(orders.primaryKey, ['REGION', 'ID']);
    assert.deepEqual(
      orders.columns.map((c) => `${c.name} ${c.type} ${c.class}${c.generated ? ' generated' : ''}${c.hasDefault ? ' default' : ''}${c.nullable ? '' : ' not-null'}`),
      [
        'REGION VARCHAR2(20 CHAR) text not-null',
        'ID NUMBER(19,0) int default not-null',
        'NOTE CLOB text',
        'AMOUNT NUMBER(12,2) decimal default',
        'ANY_NUM NUMBER decimal',
        'REF RAW(16) uuid',
        'AT TIMESTAMP(6) WITH TIME ZONE timestamptz',
        'LOCAL_AT TIMESTAMP(6) timestamp',
        'DAY DATE date',
        'DOC CLOB json',
        'RATIO BINARY_DOUBLE float',
        'TOTAL NUMBER(14,2) decimal generated',
      ],
    );
    assert.deepEqual(info.foreignKeys, [{ child: 'LINES', parent: 'ORDERS' }]);
    const binds = fake.calls.filter((c) => /ALL_TAB_COLS/.test(c.sql ?? '')).map((c) => c.binds);
    assert.deepEqual(binds, [{ owner: 'MIGRATION_SCHEMA' }]);
    fake.query = () => ({ rows: [] });
    assert.equal(await pool.introspect({ parts: ['NOPE'], key: 'nope' }), undefined);
    await pool.close();
  });

  it('reports missing table privileges and renders per-table GRANTs', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    fake.query = (sql) => {
      if (/FROM ALL_USERS/.test(sql)) return { rows: [['MOLT']] };
      if (/FROM ALL_TABLES/.test(sql)) return { rows: [['EMPLOYEES'], ['VEHICLES']] };
      if (/ALL_TAB_PRIVS/.test(sql)) return { rows: [['EMPLOYEES', 'SELECT'], ['EMPLOYEES', 'INSERT'], ['VEHICLES', 'SELECT']] };
      if (/SELECT USER FROM DUAL/.test(sql)) return { rows: [['ADMIN']] };
      return { rows: [] };
    };
    const report = await pool.checkPrivileges(SCHEMA, 'C##MIGRATION_USER', ['employees', 'vehicles', 'ghosts']);
    assert.deepEqual([...report.missing], [
      ['EMPLOYEES', ['UPDATE', 'DELETE']],
      ['VEHICLES', ['INSERT', 'UPDATE', 'DELETE']],
    ]);
    assert.deepEqual(report.absentTables, ['ghosts']);
    assert.deepEqual(pool.grantStatements(SCHEMA, report), [
      'GRANT UPDATE, DELETE ON "MOLT"."EMPLOYEES" TO "C##MIGRATION_USER"',
      'GRANT INSERT, UPDATE, DELETE ON "MOLT"."VEHICLES" TO "C##MIGRATION_USER"',
    ]);
    await pool.execAdmin(pool.grantStatements(SCHEMA, report));
    const grants = fake.calls.filter((c) => /^GRANT/.test(c.sql ?? ''));
    assert.equal(grants.length, 2);
    assert.deepEqual(grants[0]!.options, { autoCommit: true });

    // Checked by the failback user itself, a table it cannot see may only lack grants.
    fake.query = (sql) => {
      if (/FROM ALL_USERS/.test(sql)) return { rows: [['MOLT']] };
      if (/FROM ALL_TABLES/.test(sql)) return { rows: [['EMPLOYEES']] };
      if (/ALL_TAB_PRIVS/.test(sql)) return { rows: [['EMPLOYEES', 'SELECT']] };
      if (/ROLE_TAB_PRIVS/.test(sql)) return { rows: [['EMPLOYEES', 'INSERT']] };
      if (/SESSION_PRIVS/.test(sql)) return { rows: [['UPDATE ANY TABLE']] };
      if (/SELECT USER FROM DUAL/.test(sql)) return { rows: [['C##MIGRATION_USER']] };
      return { rows: [] };
    };
    const self = await pool.checkPrivileges(SCHEMA, 'C##MIGRATION_USER', ['employees', 'vehicles']);
    assert.deepEqual([...self.missing], [
      ['EMPLOYEES', ['DELETE']],
      ['VEHICLES', ['SELECT', 'INSERT', 'UPDATE', 'DELETE']],
    ]);
    assert.deepEqual(self.absentTables, []);
    // The schema owner has everything on its own tables.
    const owner = await pool.checkPrivileges(SCHEMA, 'molt', ['employees']);
    assert.deepEqual([...owner.missing], [['EMPLOYEES', []]]);
    await pool.close();
  });

  it('reads pages by key with canonical values', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    const t: TableInfo = {
      name: 'T',
      primaryKey: ['CITY', 'ID'],
      columns: [
        { name: 'CITY', type: 'VARCHAR2(20 CHAR)', class: 'text', nullable: false, generated: false, hasDefault: false },
        { name: 'ID', type: 'RAW(16)', class: 'uuid', nullable: false, generated: false, hasDefault: false },
        { name: 'AMOUNT', type: 'NUMBER(12,2)', class: 'decimal', nullable: true, generated: false, hasDefault: false },
        { name: 'RATIO', type: 'BINARY_FLOAT', class: 'float', nullable: true, generated: false, hasDefault: false },
        { name: 'AT', type: 'TIMESTAMP(6) WITH TIME ZONE', class: 'timestamptz', nullable: true, generated: false, hasDefault: false },
        { name: 'DOC', type: 'CLOB', class: 'json', nullable: true, generated: false, hasDefault: false },
      ],
    };
    fake.query = () => ({
      rows: [['rome', Buffer.from('d7b18299c0c443049ef705ae46fd5ee1', 'hex'), '.5', Math.fround(0.1), '2025-09-30T13:42:02.007123', '{"b":1.50,"a":null}']],
    });
    const rows = await pool.readRows(SCHEMA, t, { after: ['paris', '020cf7f4-6324-48a0-9f74-6c9010fb1ab4'], limit: 50 });
    assert.deepEqual(rows, [['rome', 'd7b18299-c0c4-4304-9ef7-05ae46fd5ee1', '0.5', '0.1', '2025-09-30T13:42:02.007123Z', '{"a":null,"b":1.5}']]);
    const call = fake.calls.find((c) => /^SELECT/.test(c.sql ?? '') && /FETCH FIRST/.test(c.sql ?? ''))!;
    assert.equal(
      call.sql,
      'SELECT "CITY" AS "c0", "ID" AS "c1", TO_CHAR("AMOUNT", \'TM9\') AS "c2", "RATIO" AS "c3", ' +
        'TO_CHAR(SYS_EXTRACT_UTC("AT"), \'YYYY-MM-DD"T"HH24:MI:SS.FF6\') AS "c4", "DOC" AS "c5"\n' +
        'FROM "MOLT"."T"\n' +
        'WHERE ("CITY" > :k0) OR ("CITY" = :k0 AND "ID" > :k1)\n' +
        'ORDER BY "CITY", "ID"\n' +
        'FETCH FIRST 50 ROWS ONLY',
    );
    assert.deepEqual(call.binds, { k0: 'paris', k1: Buffer.from('020cf7f4632448a09f746c9010fb1ab4', 'hex') });
    assert.deepEqual(call.options, { fetchInfo: { c5: { type: DB.DB_TYPE_VARCHAR } } });
    await pool.close();
  });

  it('wraps a failed ping in a clean TARGET_UNREACHABLE error without the password', async () => {
    const fake = new FakeOracle();
    const pool = await open(fake);
    fake.query = (sql) => {
      if (/SELECT 1 FROM DUAL/.test(sql)) {
        throw Object.assign(new Error(`NJS-500: connection to the Oracle Database was broken (${URL})`), { code: 'NJS-500' });
      }
      return { rows: [] };
    };
    const e = await pool.ping().catch((x: unknown) => x);
    assert.ok(e instanceof AppError);
    assert.equal(e.code, 'TARGET_UNREACHABLE');
    assert.ok(!e.message.includes('s3cr3t'), e.message);
    assert.equal(pool.classify(e), 'retry');
    const close = fake.calls.filter((c) => c.method === 'close').at(-1)!;
    assert.deepEqual(close.options, { drop: true }, 'a broken connection is dropped, not returned to the pool');
    await pool.close();
  });
});

describe('real oracledb Thin driver', () => {
  it('fails promptly with NJS-503 on a closed port, without the password', async () => {
    const started = Date.now();
    const pool = await oracleDialect.connect('oracle://scott:tiger-secret@127.0.0.1:1/FREEPDB1', { maxPoolSize: 1, log: silentLogger() });
    try {
      const e = await pool.ping().catch((x: unknown) => x);
      assert.ok(e instanceof AppError, String(e));
      assert.equal(e.code, 'TARGET_UNREACHABLE');
      assert.match(e.message, /NJS-503/);
      assert.ok(!e.message.includes('tiger-secret'));
      assert.equal(pool.classify(e), 'retry');
      assert.ok(Date.now() - started < 10_000, 'no hang');
    } finally {
      await pool.close();
    }
  });
});
