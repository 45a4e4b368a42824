/** Row shaping shared by the dialects, and each dialect's value conversion. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { JsonNumber, parseExactJson } from '../../src/lib/exact-json.js';
import { TargetSchemaError, type ColumnInfo, type TableInfo } from '../../src/replicator/types.js';
import { shapeDeletes, shapeUpserts } from '../../src/replicator/dialects/shared/payload.js';
import { castType } from '../../src/replicator/dialects/postgres/sql.js';
import { pgArrayLiteral, pgParam } from '../../src/replicator/dialects/postgres/values.js';
import { myParam, SqlLiteral } from '../../src/replicator/dialects/mysql/values.js';
import { oracleBind, bindDefFor } from '../../src/replicator/dialects/oracle/values.js';

const col = (name: string, cls: ColumnInfo['class'], type = 'text', extra: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name,
  type,
  class: cls,
  nullable: true,
  generated: false,
  hasDefault: false,
  ...extra,
});

const table: TableInfo = {
  name: 'Orders',
  primaryKey: ['Id', 'region'],
  columns: [
    col('Id', 'int', 'bigint', { nullable: false }),
    col('region', 'text', 'text', { nullable: false }),
    col('Amount', 'decimal', 'numeric'),
    col('note', 'text'),
    col('total', 'decimal', 'numeric', { generated: true }),
    col('seq', 'int', 'integer', { identity: 'always' }),
  ],
};

const throwsSchema = (fn: () => unknown, column?: string) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TargetSchemaError, String(e));
    assert.equal(e.table, 'Orders');
    if (column !== undefined) assert.equal(e.column, column);
    return true;
  });

describe('shapeUpserts', () => {
  it('matches payload keys case-insensitively, drops generated columns, keeps table order', () => {
    const [g] = shapeUpserts(table, ['{"total":9,"amount":1.50,"REGION":"eu","id":7,"note":"x"}']);
    assert.deepEqual(
      g!.columns.map((c) => c.name),
      ['Id', 'region', 'Amount', 'note'],
    );
    assert.deepEqual(g!.rows[0]!.map((v) => String(v)), ['7', 'eu', '1.50', 'x']);
    assert.deepEqual(
      g!.updateColumns.map((c) => c.name),
      ['Amount', 'note'],
    );
  });

  it('never updates a GENERATED ALWAYS identity column, but inserts it', () => {
    const [g] = shapeUpserts(table, ['{"id":1,"region":"eu","seq":5}']);
    assert.deepEqual(g!.columns.map((c) => c.name), ['Id', 'region', 'seq']);
    assert.deepEqual(g!.updateColumns, []);
  });

  it('keeps INT8 above 2^53 exact', () => {
    const [g] = shapeUpserts(table, ['{"id":1101234051444375553,"region":"eu"}']);
    assert.ok(g!.rows[0]![0] instanceof JsonNumber);
    assert.equal(String(g!.rows[0]![0]), '1101234051444375553');
  });

  it('groups rows by the columns they carry, so absent columns are never written', () => {
    const groups = shapeUpserts(table, ['{"id":1,"region":"eu","note":"a"}', '{"id":2,"region":"eu","amount":3}', '{"id":3,"region":"eu","note":"c"}']);
    assert.equal(groups.length, 2);
    assert.deepEqual(groups[0]!.rows.map((r) => String(r[0])), ['1', '3']);
    assert.deepEqual(groups[1]!.columns.map((c) => c.name), ['Id', 'region', 'Amount']);
  });

  it('folds several images of one key, later fields winning', () => {
    const groups = shapeUpserts(table, ['{"id":1,"region":"eu","note":"old","amount":1}', '{"id":1,"region":"eu","note":"new"}']);
    assert.equal(groups.length, 1);
    assert.deepEqual(groups[0]!.rows.map((r) => r.map(String)), [['1', 'eu', '1', 'new']]);
  });

  it('reports an unknown column with table and column', () => {
    throwsSchema(() => shapeUpserts(table, ['{"id":1,"region":"eu","colour":"red"}']), 'colour');
  });
  it('reports a missing or null primary-key value', () => {
    throwsSchema(() => shapeUpserts(table, ['{"id":1,"note":"x"}']), 'region');
    throwsSchema(() => shapeUpserts(table, ['{"id":null,"region":"eu"}']), 'Id');
  });
  it('reports a table without primary key and a row that is not an object', () => {
    assert.throws(() => shapeUpserts({ ...table, primaryKey: [] }, ['{}']), TargetSchemaError);
    throwsSchema(() => shapeUpserts(table, ['[1,2]']));
    throwsSchema(() => shapeUpserts(table, ['{"id":']));
  });
  it('needs an exact match when two columns differ only by case', () => {
    const t: TableInfo = { name: 'Orders', primaryKey: ['id'], columns: [col('id', 'int'), col('Name', 'text'), col('name', 'text')] };
    assert.deepEqual(shapeUpserts(t, ['{"id":1,"Name":"a"}'])[0]!.columns.map((c) => c.name), ['id', 'Name']);
    throwsSchema(() => shapeUpserts(t, ['{"id":1,"NAME":"a"}']), 'NAME');
  });
});

describe('shapeDeletes', () => {
  it('deduplicates keys and checks their length', () => {
    const k = (...v: string[]) => v.map((x) => (/^\d+$/.test(x) ? new JsonNumber(x) : x));
    const { rows } = shapeDeletes(table, [k('1', 'eu'), k('1', 'eu'), k('2', 'eu')]);
    assert.equal(rows.length, 2);
    throwsSchema(() => shapeDeletes(table, [k('1')]));
    throwsSchema(() => shapeDeletes(table, [[new JsonNumber('1'), null]]), 'region');
  });
});

describe('PostgreSQL values', () => {
  const v = (text: string) => parseExactJson(text);
  it('casts to the column type without modifiers', () => {
    assert.equal(castType('numeric(12,2)'), 'numeric');
    assert.equal(castType('character varying(64)'), 'character varying');
    assert.equal(castType('character(4)'), 'bpchar');
    assert.equal(castType('character(4)[]'), 'bpchar[]');
    assert.equal(castType('timestamp(3) with time zone'), 'timestamp with time zone');
    assert.equal(castType('bit(8)'), 'bit varying');
    assert.equal(castType('public.mood'), 'public.mood');
  });
  it('converts per class', () => {
    assert.equal(pgParam(col('x', 'bytes'), v('"\\\\x00ff"')), '\\x00ff');
    assert.equal(pgParam(col('x', 'bytes'), v('"hi"')), '\\x6869');
    assert.equal(pgParam(col('x', 'json'), v('{"b":1.50,"a":null}')), '{"b":1.50,"a":null}');
    assert.equal(pgParam(col('x', 'json'), v('{"__crdb_json_null__":true}')), 'null');
    assert.equal(pgParam(col('x', 'json'), v('null')), null);
    assert.equal(pgParam(col('x', 'decimal'), v('4E+2')), '400');
    assert.equal(pgParam(col('x', 'int'), v('true')), '1');
    assert.equal(pgParam(col('x', 'bool'), v('1')), 'true');
    assert.equal(pgParam(col('x', 'uuid'), v('"8D6D2C1E-6A0B-4F6E-9A57-0F8A3F2F1B44"')), '8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44');
    assert.equal(pgParam(col('x', 'timestamp'), v('"2025-09-30T15:42:02.5+02:00"')), '2025-09-30 13:42:02.5');
    assert.equal(pgParam(col('x', 'timestamptz'), v('"2025-09-30T15:42:02.5+02:00"')), '2025-09-30T15:42:02.5+02:00');
    assert.equal(pgParam(col('x', 'date'), v('"2025-09-30T23:30:00-02:00"')), '2025-10-01');
    assert.equal(pgParam(col('x', 'text'), v('{"a":1}')), '{"a":1}');
    assert.equal(pgParam(col('x', 'text'), undefined), null);
  });
  it('writes array literals with quoting and NULLs', () => {
    assert.equal(pgArrayLiteral(parseExactJson('["a","b\\"c",null,"d\\\\e"]') as never), '{"a","b\\"c",NULL,"d\\\\e"}');
    assert.equal(pgArrayLiteral(parseExactJson('[[1,2],[3,4]]') as never), '{{1,2},{3,4}}');
    assert.equal(pgArrayLiteral(parseExactJson('[{"a":1}]') as never), '{"{\\"a\\":1}"}');
  });
});

describe('MySQL values', () => {
  const v = (text: string) => parseExactJson(text);
  it('inlines exact numbers as literals so keys never compare as doubles', () => {
    const p = myParam(col('x', 'int', 'bigint(20)'), v('1101234051444375553'));
    assert.ok(p instanceof SqlLiteral);
    assert.equal(p.toSqlString(), '1101234051444375553');
    assert.equal((myParam(col('x', 'decimal', 'decimal(30,10)'), v('1E+3')) as SqlLiteral).text, '1000');
    assert.equal(myParam(col('x', 'int', 'bigint(20)'), v('"12; DROP TABLE t"')), '12; DROP TABLE t');
  });
  it('converts per class', () => {
    assert.equal(myParam(col('x', 'bool', 'tinyint(1)'), v('true')), 1);
    assert.deepEqual(myParam(col('x', 'bytes', 'varbinary(10)'), v('"\\\\x00ff"')), Buffer.from([0, 255]));
    assert.deepEqual(myParam(col('x', 'uuid', 'binary(16)'), v('"8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44"')), Buffer.from('8d6d2c1e6a0b4f6e9a570f8a3f2f1b44', 'hex'));
    assert.equal(myParam(col('x', 'uuid', 'char(36)'), v('"8D6D2C1E-6A0B-4F6E-9A57-0F8A3F2F1B44"')), '8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44');
    assert.equal(myParam(col('x', 'timestamptz', 'timestamp(6)'), v('"2025-09-30T15:42:02.007123+02:00"')), '2025-09-30 13:42:02.007123');
    assert.equal(myParam(col('x', 'timestamp', 'datetime'), v('"2025-09-30T15:42:02Z"')), '2025-09-30 15:42:02');
    assert.equal(myParam(col('x', 'date', 'date'), v('"2025-09-30T01:00:00+02:00"')), '2025-09-29');
    assert.equal(myParam(col('x', 'json', 'json'), v('[1,{"a":2}]')), '[1,{"a":2}]');
  });
});

describe('Oracle binds', () => {
  const v = (text: string) => parseExactJson(text);
  it('converts per class and sizes bind definitions', () => {
    assert.equal(oracleBind(col('X', 'timestamptz', 'TIMESTAMP(6) WITH TIME ZONE'), v('"2025-09-30T15:42:02.5+02:00"')), '2025-09-30 13:42:02.500000000 +00:00');
    assert.equal(oracleBind(col('X', 'date', 'DATE'), v('"2025-09-30"')), '2025-09-30 00:00:00');
    assert.deepEqual(oracleBind(col('X', 'uuid', 'RAW(16)'), v('"8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44"')), Buffer.from('8d6d2c1e6a0b4f6e9a570f8a3f2f1b44', 'hex'));
    assert.equal(oracleBind(col('X', 'float', 'BINARY_DOUBLE'), v('"Infinity"')), 'Inf');
    assert.equal(oracleBind(col('X', 'int', 'NUMBER(1,0)'), v('true')), '1');
    assert.deepEqual(bindDefFor(col('X', 'text', 'VARCHAR2(10 CHAR)'), ['é', null, 'abc']), { type: 'string', maxSize: 3 });
    assert.deepEqual(bindDefFor(col('X', 'text', 'CLOB'), ['x'.repeat(40000)]), { type: 'clob' });
    assert.deepEqual(bindDefFor(col('X', 'bytes', 'BLOB'), [Buffer.alloc(10)]), { type: 'buffer', maxSize: 10 });
    assert.deepEqual(bindDefFor(col('X', 'bytes', 'BLOB'), [Buffer.alloc(40000)]), { type: 'blob' });
  });
});
