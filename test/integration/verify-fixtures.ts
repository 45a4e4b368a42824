/**
 * Shared fixtures of the verify integration tests: the CockroachDB side, SQL helpers for both servers,
 * and a table of every value kind written in different but equal forms on each side.
 *
 * No CockroachDB server can be installed here: the CockroachDB side is the emulator (src/sandbox/crdb)
 * over the test file's real PostgreSQL database. Its tables live in schema `crdb` (defaultdb.crdb as
 * CockroachDB names it), so a PostgreSQL target can use schema `public` of the same database.
 */
import pg from 'pg';
import mysql from 'mysql2/promise';
import { startCrdbEmulator } from '../../src/sandbox/crdb/index.js';
import type { VerifyEndpoint } from '../../src/verify/index.js';
import type { TestDatabase } from '../helpers/databases.js';

export interface CrdbSide {
  /** The emulator's connection string (what a user passes as --crdb-conn). */
  readonly url: string;
  /** Schema defaultdb.crdb on the emulator. */
  readonly endpoint: VerifyEndpoint;
  /** Runs SQL on CockroachDB (the emulator). */
  exec(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

export async function startCrdbSide(backend: TestDatabase): Promise<CrdbSide> {
  const emulator = await startCrdbEmulator({ backend: { url: backend.url } });
  await pgExec(emulator.url, 'CREATE SCHEMA crdb');
  return {
    url: emulator.url,
    endpoint: { conn: emulator.url, schema: 'defaultdb.crdb' },
    exec: (sql, params) => pgExec(emulator.url, sql, params),
    stop: () => emulator.stop(),
  };
}

export async function pgExec(url: string, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

export async function myExec(url: string, sql: string, params: unknown[] = []): Promise<void> {
  const c = await mysql.createConnection({ uri: url, multipleStatements: true });
  try {
    await c.query(sql, params);
  } finally {
    await c.end();
  }
}

/** Every value kind of the normalisation contract, on the CockroachDB side (PostgreSQL types). */
export const CRDB_KINDS_DDL = `
CREATE TABLE crdb.kinds (
  id INT8 PRIMARY KEY,
  big INT8,
  amount DECIMAL(12,4),
  price DECIMAL,
  ratio FLOAT8,
  at TIMESTAMP(6),
  at_tz TIMESTAMPTZ(6),
  day DATE,
  doc JSONB,
  raw BYTEA,
  uid UUID,
  flag BOOL,
  note TEXT
)`;

/**
 * Rows as CockroachDB holds them: INT8 beyond 2^53, decimals with trailing zeros, an instant given with
 * a +02 offset, JSON whose keys the target stores in another order, upper-case UUID text, NULLs.
 */
export const CRDB_KINDS_ROWS = `
INSERT INTO crdb.kinds VALUES
 (1, 9007199254740993, 125.5000, 3.000, 0.1, '2024-02-29 23:59:59.123456', '2024-03-01 01:00:00.5+02', '2024-02-29',
  '{"b": 1, "a": [1, 2.50, {"y": null, "x": "é"}]}', '\\x00ff10', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', true, 'héllo, "quoted"'),
 (2, 9223372036854775807, -0.0001, 1000, -1.5e300, '1999-12-31 00:00:00', '1970-01-01 00:00:00+00', '1999-12-31',
  '[]', '\\x', '00000000-0000-0000-0000-000000000000', false, ''),
 (3, -9223372036854775808, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

/** The same data on a PostgreSQL target, typed and written differently. */
export const PG_TARGET_KINDS = `
CREATE TABLE public.kinds (
  id BIGINT PRIMARY KEY, big BIGINT, amount NUMERIC(14,6), price NUMERIC(20,6), ratio DOUBLE PRECISION,
  at TIMESTAMP(6), at_tz TIMESTAMPTZ(6), day DATE, doc JSON, raw BYTEA, uid UUID, flag BOOLEAN, note TEXT
);
INSERT INTO public.kinds VALUES
 (1, 9007199254740993, 125.5, 3, 0.1, '2024-02-29 23:59:59.123456', '2024-02-29 23:00:00.500000Z', '2024-02-29',
  '{"a":[1,2.5,{"x":"é","y":null}],  "b":1.0}', '\\x00FF10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 't', 'héllo, "quoted"'),
 (2, 9223372036854775807, -0.000100, 1000.000000, -1.5e300, '1999-12-31 00:00:00.000000', '1969-12-31 19:00:00-05', '1999-12-31',
  '[ ]', '', '00000000-0000-0000-0000-000000000000', 'f', ''),
 (3, -9223372036854775808, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

/**
 * The same data on a MariaDB target as the failback would hold it: TIMESTAMPTZ as a UTC DATETIME,
 * BOOL as TINYINT(1), JSON as MariaDB's JSON (LONGTEXT), UUID in MariaDB's native UUID type.
 */
export const MARIADB_TARGET_KINDS = `
CREATE TABLE kinds (
  id BIGINT PRIMARY KEY, big BIGINT, amount DECIMAL(14,6), price DECIMAL(20,6), ratio DOUBLE,
  at DATETIME(6), at_tz DATETIME(6), day DATE, doc JSON, raw VARBINARY(64), uid UUID, flag TINYINT(1), note TEXT
);
INSERT INTO kinds VALUES
 (1, 9007199254740993, 125.5, 3, 0.1, '2024-02-29 23:59:59.123456', '2024-02-29 23:00:00.500000', '2024-02-29',
  '{"a":[1,2.5,{"x":"é","y":null}],  "b":1.0}', UNHEX('00FF10'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1, 'héllo, "quoted"'),
 (2, 9223372036854775807, -0.000100, 1000.000000, -1.5e300, '1999-12-31 00:00:00.000000', '1970-01-01 00:00:00', '1999-12-31',
  '[ ]', '', '00000000-0000-0000-0000-000000000000', 0, ''),
 (3, -9223372036854775808, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

/** Rows 1..n of a (id, v) table as a VALUES list. */
export const valuesList = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => `(${from + i}, 'v${from + i}')`).join(', ');
