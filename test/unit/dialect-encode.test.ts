/**
 * How statements reach the drivers: MySQL/MariaDB statements are inlined by our own formatter (the same
 * literals mysql2's format() writes, proven here against it), timestamps in CockroachDB's UTC form take
 * a fast path equal to the general one, and PostgreSQL array parameters go in binary form only for
 * element types with an exact binary encoding.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import mysql from 'mysql2';
import { parseExactJson } from '../../src/lib/exact-json.js';
import type { ColumnInfo } from '../../src/replicator/types.js';
import { inlineParams, myLiteral, MyStatement, renderDelete, renderUpsert } from '../../src/replicator/dialects/mysql/sql.js';
import { shapeUpserts } from '../../src/replicator/dialects/shared/payload.js';
import { myParam, SqlLiteral } from '../../src/replicator/dialects/mysql/values.js';
import { formatDateTime, parseDateTime, toUtc } from '../../src/replicator/dialects/shared/timestamps.js';
import { binaryElementOid } from '../../src/replicator/dialects/postgres/sql.js';
import { OID } from '../../src/replicator/pg-arrays.js';

const col = (name: string, cls: ColumnInfo['class'], type: string): ColumnInfo => ({ name, type, class: cls, nullable: true, generated: false, hasDefault: false });

describe('MySQL statement inlining', () => {
  const values = [
    null,
    0,
    1,
    'plain',
    '',
    "it's",
    'say "hi"',
    'back\\slash',
    'nul\u0000 bs\b tab\t nl\n cr\r sub\u001a end',
    'Zoë 🚀 前',
    "'; DROP TABLE t; --",
    Buffer.from([0, 1, 254, 255]),
    new SqlLiteral('1101234051444375553'),
    new SqlLiteral('-125.50'),
  ];

  it('writes the literals mysql2 would', () => {
    for (const v of values) assert.equal(myLiteral(v), mysql.escape(v), String(v));
  });

  it('replaces placeholders in order, skipping backquoted identifiers that contain "?"', () => {
    const plain = 'INSERT INTO `db`.`t` (`a`, `b`)\nVALUES (?, ?),\n       (?, ?)\nON DUPLICATE KEY UPDATE `b` = VALUES(`b`)';
    const params = ["x'?", 1, null, Buffer.from('?')];
    assert.equal(inlineParams(plain, params), mysql.format(plain, params));
    // An identifier may contain "?" (and a doubled backquote): it is not a placeholder.
    const odd = 'INSERT INTO `d?b`.`t``?` (`a?`, `b`)\nVALUES (?, ?)';
    assert.equal(inlineParams(odd, ["x'?", 1]), "INSERT INTO `d?b`.`t``?` (`a?`, `b`)\nVALUES ('x\\'?', 1)");
    assert.equal(inlineParams('SELECT 1', []), 'SELECT 1');
    assert.throws(() => inlineParams('SELECT ?, ?', [1]), /placeholders/);
    assert.throws(() => inlineParams('SELECT ?', [1, 2]), /placeholders/);
  });

  it('renders multi-row statements straight to the same text as placeholders plus inlining', () => {
    const t = {
      name: 'T?',
      primaryKey: ['id', 'k'],
      columns: [col('id', 'int', 'bigint(20)'), col('k', 'text', 'varchar(10)'), col('v', 'text', 'text'), col('b', 'bytes', 'varbinary(4)')],
    };
    const schema = { parts: ['d`b'], key: 'd`b' };
    const rows = [
      '{"id":1,"k":"a","v":"it\'s","b":"\\\\x00ff"}',
      '{"id":1101234051444375553,"k":"b","v":null}',
      '{"id":3,"k":"?","v":"back\\\\slash ?"}',
    ];
    const statements = shapeUpserts(t, rows).flatMap((g) => renderUpsert(schema, t, g, { maxRowsPerStatement: 2 }, 'values-function'));
    statements.push(...renderDelete(schema, t, [t.columns[0]!, t.columns[1]!], [[parseExactJson('1'), 'a'], [parseExactJson('2'), "b'"]], { maxRowsPerStatement: 10 }));
    statements.push(...renderDelete(schema, t, [t.columns[0]!], [[parseExactJson('7')], [parseExactJson('8')]], { maxRowsPerStatement: 10 }));
    assert.ok(statements.length >= 4);
    for (const s of statements) {
      assert.ok(s instanceof MyStatement);
      assert.equal(s.inline(), inlineParams(s.sql, s.params));
    }
  });

  it('takes a fast path for CockroachDB UTC timestamps that equals the general one', () => {
    const ts = col('t', 'timestamptz', 'timestamp(6)');
    for (const text of ['2026-11-27T14:00:00Z', '2026-11-27T14:00:00.1Z', '2026-11-27T14:00:00.123456Z', '2026-11-27T14:00:00.123456789Z', '0044-03-15T00:00:00.5Z']) {
      const p = parseDateTime(text)!;
      const general = formatDateTime(toUtc(p), ' ', Math.min(p.fraction.length, 6));
      assert.equal(myParam(ts, parseExactJson(JSON.stringify(text))), general, text);
    }
    // Offsets still go through the date arithmetic.
    assert.equal(myParam(ts, parseExactJson('"2025-09-30T00:30:00.5-01:00"')), '2025-09-30 01:30:00.5');
  });
});

describe('PostgreSQL binary array parameters', () => {
  it('only for integer, boolean and text-like element types', () => {
    assert.equal(binaryElementOid(col('a', 'int', 'bigint')), OID.int8);
    assert.equal(binaryElementOid(col('a', 'int', 'integer')), OID.int4);
    assert.equal(binaryElementOid(col('a', 'int', 'smallint')), OID.int2);
    assert.equal(binaryElementOid(col('a', 'bool', 'boolean')), OID.bool);
    assert.equal(binaryElementOid(col('a', 'text', 'text')), OID.text);
    assert.equal(binaryElementOid(col('a', 'text', 'character varying(64)')), OID.varchar);
    assert.equal(binaryElementOid(col('a', 'text', 'character(3)')), OID.bpchar);
    for (const [cls, type] of [
      ['decimal', 'numeric(12,2)'],
      ['timestamptz', 'timestamp with time zone'],
      ['json', 'jsonb'],
      ['uuid', 'uuid'],
      ['enum', 'mood'],
      ['text', 'citext'],
    ] as const) {
      assert.equal(binaryElementOid(col('a', cls, type)), undefined, type);
    }
  });
});
