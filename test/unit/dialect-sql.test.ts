/** SQL rendering limits and shapes the golden cases do not reach: bind-parameter caps, byte budgets, keyset reads. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { JsonNumber } from '../../src/lib/exact-json.js';
import type { ColumnInfo, TableInfo } from '../../src/replicator/types.js';
import { shapeUpserts } from '../../src/replicator/dialects/shared/payload.js';
import * as pgSql from '../../src/replicator/dialects/postgres/sql.js';
import * as mySql from '../../src/replicator/dialects/mysql/sql.js';
import * as oraSql from '../../src/replicator/dialects/oracle/sql.js';
import { SqlLiteral } from '../../src/replicator/dialects/mysql/values.js';

const col = (name: string, cls: ColumnInfo['class'], type: string): ColumnInfo => ({ name, type, class: cls, nullable: true, generated: false, hasDefault: false });

describe('chunking to bind limits', () => {
  it('PostgreSQL VALUES (array columns) stays under 65535 parameters per statement', () => {
    const cols = [col('id', 'int', 'bigint'), col('tags', 'array', 'text[]'), ...Array.from({ length: 38 }, (_, i) => col(`c${i}`, 'text', 'text'))];
    const table: TableInfo = { name: 't', primaryKey: ['id'], columns: cols };
    const rows = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: i, tags: ['a'], ...Object.fromEntries(cols.slice(2).map((c) => [c.name, 'v'])) }));
    const [g] = shapeUpserts(table, rows);
    const statements = pgSql.renderUpsert({ parts: ['d', 's'], key: 'd.s' }, table, g!, { maxRowsPerStatement: 100_000 });
    assert.deepEqual(
      statements.map((s) => s.rows),
      [1638, 1638, 1638, 86],
    );
    for (const s of statements) assert.ok(s.params.length <= 65535);
    assert.ok(statements.every((s) => s.name === undefined), 'row-count-dependent text is not prepared');
  });

  it('PostgreSQL unnest needs one parameter per column whatever the row count, and one prepared name', () => {
    const table: TableInfo = { name: 't', primaryKey: ['id'], columns: [col('id', 'int', 'bigint'), col('v', 'text', 'text')] };
    const [g] = shapeUpserts(table, Array.from({ length: 2500 }, (_, i) => `{"id":${i},"v":"x"}`));
    const s = pgSql.renderUpsert({ parts: ['d', 's'], key: 'd.s' }, table, g!, { maxRowsPerStatement: 1000 });
    assert.deepEqual(s.map((x) => [x.params.length, (x.params[0] as unknown[]).length]), [[2, 1000], [2, 1000], [2, 500]]);
    assert.equal(new Set(s.map((x) => x.name)).size, 1);
    assert.match(s[0]!.name!, /^molt_[0-9a-f]{24}$/);
  });

  it('MySQL stays under 65535 placeholders and a 4 MiB statement', () => {
    const table: TableInfo = { name: 't', primaryKey: ['id'], columns: [col('id', 'int', 'bigint'), col('v', 'text', 'longtext')] };
    const big = 'x'.repeat(300_000);
    const [g] = shapeUpserts(table, Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: i, v: big })));
    const s = mySql.renderUpsert({ parts: ['d'], key: 'd' }, table, g!, { maxRowsPerStatement: 1000 }, 'values-function');
    assert.ok(s.length > 1, 'split by size');
    for (const x of s) assert.ok(x.rows * (big.length * 4) <= mySql.MY_MAX_STATEMENT_BYTES);
    const narrow = shapeUpserts(table, Array.from({ length: 40_000 }, (_, i) => `{"id":${i},"v":"x"}`))[0]!;
    const many = mySql.renderUpsert({ parts: ['d'], key: 'd' }, table, narrow, { maxRowsPerStatement: 100_000 }, 'values-function');
    for (const x of many) assert.ok(x.params.length <= 65535);
  });

  it('Oracle batches executeMany by maxRowsPerStatement', () => {
    const table: TableInfo = { name: 'T', primaryKey: ['ID'], columns: [col('ID', 'int', 'NUMBER(19,0)')] };
    const keys = Array.from({ length: 2500 }, (_, i) => [new JsonNumber(String(i))]);
    const b = oraSql.renderDelete({ parts: ['S'], key: 's' }, table, table.columns, keys, { maxRowsPerStatement: 1000 });
    assert.deepEqual(b.map((x) => x.binds.length), [1000, 1000, 500]);
  });
});

describe('keyset reads', () => {
  const table: TableInfo = {
    name: 't',
    primaryKey: ['a', 'b'],
    columns: [col('a', 'int', 'bigint'), col('b', 'text', 'varchar(10)'), col('c', 'json', 'jsonb')],
  };
  it('PostgreSQL compares the key as a row value, text in binary (C) order', () => {
    const s = pgSql.renderSelectPage({ parts: ['d', 'public'], key: 'd.public' }, table, table.columns.slice(0, 2), ['5', 'x'], 100);
    assert.equal(
      s.sql,
      'SELECT "a", "b", "c"\nFROM "public"."t"\nWHERE ("a", "b" COLLATE "C") > ($1::bigint, $2::varchar COLLATE "C")\nORDER BY "a", "b" COLLATE "C"\nLIMIT 100',
    );
    assert.deepEqual(s.params, ['5', 'x']);
    const enumKey: TableInfo = { name: 'e', primaryKey: ['m', 'u'], columns: [col('m', 'enum', 'public.mood'), col('u', 'uuid', 'uuid')] };
    assert.match(pgSql.renderSelectPage({ parts: ['d', 'public'], key: 'd.public' }, enumKey, enumKey.columns, undefined, 5).sql, /ORDER BY "m"::text COLLATE "C", "u"\n/);
  });
  it('MySQL spells the comparison out, compares text as bytes and inlines numeric keys', () => {
    const s = mySql.renderSelectPage({ parts: ['d'], key: 'd' }, table, table.columns.slice(0, 2), ['5', 'x'], 100);
    assert.equal(
      s.sql,
      'SELECT `a` AS c0, `b` AS c1, `c` AS c2\nFROM `d`.`t`\nWHERE (`a` > ?) OR (`a` = ? AND CAST(`b` AS BINARY) > CAST(? AS BINARY))\nORDER BY `a`, CAST(`b` AS BINARY)\nLIMIT 100',
    );
    assert.deepEqual(
      s.params.map((p) => (p instanceof SqlLiteral ? `literal ${p.text}` : p)),
      ['literal 5', 'literal 5', 'x'],
    );
  });
});
