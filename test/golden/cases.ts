/**
 * The SQL cases every dialect renders: golden files freeze the text (golden.test.ts) and the
 * integration tests run the same cases on live PostgreSQL and MariaDB, checking the introspected
 * catalog matches these fixtures, the rendered SQL matches the golden file, and the rows read back
 * match `expected` (canonical text, identical for every dialect).
 */
import type { JsonValue } from '../../src/lib/exact-json.js';
import { JsonNumber } from '../../src/lib/exact-json.js';
import type { ColumnClass, ColumnInfo, DialectName, TableInfo, TargetSchema } from '../../src/replicator/types.js';
import { shapeDeletes, shapeUpserts } from '../../src/replicator/dialects/shared/payload.js';
import type { WriteLimits } from '../../src/replicator/dialects/shared/statement.js';
import * as pgSql from '../../src/replicator/dialects/postgres/sql.js';
import * as mySql from '../../src/replicator/dialects/mysql/sql.js';
import * as oraSql from '../../src/replicator/dialects/oracle/sql.js';

export type Logical =
  | 'int8'
  | 'varchar'
  | 'decimal'
  | 'json'
  | 'bytes'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  | 'uuid'
  | 'bool'
  | 'float'
  | 'text[]';

export interface LogicalColumn {
  name: string;
  type: Logical;
  /** SQL expression (same text for PostgreSQL and MariaDB) of a stored generated column. */
  generated?: string;
}

export interface GoldenCase {
  name: string;
  table: string;
  columns: LogicalColumn[];
  primaryKey: string[];
  /** Rows upserted before the case (not part of the golden file). */
  setup?: string[];
  op: { kind: 'upsert'; rows: string[] } | { kind: 'delete'; keys: JsonValue[][] };
  limits?: WriteLimits;
  /** Rows after the case, in TableInfo column order (key first), ordered by key. */
  expected: (string | null)[][];
  /** Dialects this case applies to (default: all). */
  only?: DialectName[];
  /** MySQL upsert style for this case (default: MariaDB's VALUES()). */
  mysqlStyle?: mySql.UpsertStyle;
  /** Rendered and frozen, but not run live (e.g. MySQL 8 syntax, no MySQL 8 server here). */
  renderOnly?: boolean;
}

type TypeSpec = [type: string, cls: ColumnClass, ddl: string];

const PG: Record<Logical, TypeSpec> = {
  int8: ['bigint', 'int', 'bigint'],
  varchar: ['character varying(64)', 'text', 'varchar(64)'],
  decimal: ['numeric(30,10)', 'decimal', 'numeric(30,10)'],
  json: ['jsonb', 'json', 'jsonb'],
  bytes: ['bytea', 'bytes', 'bytea'],
  timestamptz: ['timestamp with time zone', 'timestamptz', 'timestamptz'],
  timestamp: ['timestamp without time zone', 'timestamp', 'timestamp'],
  date: ['date', 'date', 'date'],
  uuid: ['uuid', 'uuid', 'uuid'],
  bool: ['boolean', 'bool', 'boolean'],
  float: ['double precision', 'float', 'float8'],
  'text[]': ['text[]', 'array', 'text[]'],
};

const MY: Record<Logical, TypeSpec> = {
  int8: ['bigint(20)', 'int', 'bigint'],
  varchar: ['varchar(64)', 'text', 'varchar(64)'],
  decimal: ['decimal(30,10)', 'decimal', 'decimal(30,10)'],
  json: ['longtext', 'json', 'json'],
  bytes: ['varbinary(255)', 'bytes', 'varbinary(255)'],
  timestamptz: ['timestamp(6)', 'timestamptz', 'timestamp(6) NULL'],
  timestamp: ['datetime(6)', 'timestamp', 'datetime(6)'],
  date: ['date', 'date', 'date'],
  uuid: ['char(36)', 'uuid', 'char(36)'],
  bool: ['tinyint(1)', 'bool', 'boolean'],
  float: ['double', 'float', 'double'],
  'text[]': ['longtext', 'json', 'json'],
};

const ORA: Record<Logical, TypeSpec> = {
  int8: ['NUMBER(19,0)', 'int', 'NUMBER(19)'],
  varchar: ['VARCHAR2(64 CHAR)', 'text', 'VARCHAR2(64 CHAR)'],
  decimal: ['NUMBER(30,10)', 'decimal', 'NUMBER(30,10)'],
  json: ['JSON', 'json', 'JSON'],
  bytes: ['BLOB', 'bytes', 'BLOB'],
  timestamptz: ['TIMESTAMP(6) WITH TIME ZONE', 'timestamptz', 'TIMESTAMP(6) WITH TIME ZONE'],
  timestamp: ['TIMESTAMP(6)', 'timestamp', 'TIMESTAMP(6)'],
  date: ['DATE', 'date', 'DATE'],
  uuid: ['RAW(16)', 'uuid', 'RAW(16)'],
  bool: ['NUMBER(1,0)', 'int', 'NUMBER(1)'],
  float: ['BINARY_DOUBLE', 'float', 'BINARY_DOUBLE'],
  'text[]': ['JSON', 'json', 'JSON'],
};

const SPECS: Record<DialectName, Record<Logical, TypeSpec>> = { postgres: PG, mysql: MY, oracle: ORA };

/** Catalog spelling: Oracle folds unquoted names to upper case. */
const spell = (dialect: DialectName, name: string) => (dialect === 'oracle' ? name.toUpperCase() : name);

/** The TableInfo a dialect's introspection returns for the case's table. */
export function tableFor(dialect: DialectName, c: GoldenCase): TableInfo {
  const spec = SPECS[dialect];
  const pk = new Set(c.primaryKey);
  const cols: ColumnInfo[] = c.columns.map((col) => {
    const [type, cls] = spec[col.type];
    return {
      name: spell(dialect, col.name),
      type,
      class: cls,
      nullable: !pk.has(col.name),
      generated: col.generated !== undefined,
      // PostgreSQL records a generation expression as a default (atthasdef); MariaDB does not.
      hasDefault: col.generated !== undefined && dialect === 'postgres',
    };
  });
  const byName = new Map(cols.map((x) => [x.name, x]));
  const primaryKey = c.primaryKey.map((k) => spell(dialect, k));
  return {
    name: spell(dialect, c.table),
    columns: [...primaryKey.map((k) => byName.get(k)!), ...cols.filter((x) => !primaryKey.includes(x.name))],
    primaryKey,
  };
}

/** CREATE TABLE for a live run (tests only; product SQL lives in src/replicator/dialects). */
export function ddlFor(dialect: 'postgres' | 'mysql', c: GoldenCase, qualifiedTable: string): string {
  const spec = SPECS[dialect];
  const q = (n: string) => (dialect === 'postgres' ? `"${n}"` : `\`${n}\``);
  const cols = c.columns.map((col) => {
    const ddl = spec[col.type][2];
    const notNull = c.primaryKey.includes(col.name) ? ' NOT NULL' : '';
    if (col.generated) {
      return dialect === 'postgres'
        ? `${q(col.name)} ${ddl} GENERATED ALWAYS AS (${col.generated}) STORED`
        : `${q(col.name)} ${ddl} AS (${col.generated}) STORED`;
    }
    return `${q(col.name)} ${ddl}${notNull}`;
  });
  return `CREATE TABLE ${qualifiedTable} (${cols.join(', ')}, PRIMARY KEY (${c.primaryKey.map(q).join(', ')}))`;
}

export const GOLDEN_SCHEMAS: Record<DialectName, TargetSchema> = {
  postgres: { parts: ['molt', 'public'], key: 'molt.public' },
  mysql: { parts: ['molt'], key: 'molt' },
  oracle: { parts: ['MOLT'], key: 'molt' },
};

export const DEFAULT_LIMITS: WriteLimits = { maxRowsPerStatement: 1000 };

const n = (text: string) => new JsonNumber(text);
const V1 = 'd7b18299-c0c4-4304-9ef7-05ae46fd5ee1';
const V2 = '020cf7f4-6324-48a0-9f74-6c9010fb1ab4';
const OWNER = 'b74ea421-fcaf-4d80-9dcc-d222d49bdc17';

const employees: Pick<GoldenCase, 'columns' | 'primaryKey'> = {
  columns: [
    { name: 'id', type: 'int8' },
    { name: 'name', type: 'varchar' },
    { name: 'office', type: 'varchar' },
  ],
  primaryKey: ['id'],
};

// Composite key declared (city, id) on the target, as the source does.
const vehicles: Pick<GoldenCase, 'columns' | 'primaryKey'> = {
  columns: [
    { name: 'city', type: 'varchar' },
    { name: 'id', type: 'uuid' },
    { name: 'owner_id', type: 'uuid' },
    { name: 'status', type: 'varchar' },
  ],
  primaryKey: ['city', 'id'],
};

const vehicleRows = [
  `{"city":"rome","id":"${V1}","owner_id":null,"status":"in_use"}`,
  `{"city":"paris","id":"${V2}","owner_id":"${OWNER}","status":"available"}`,
];

const events: Pick<GoldenCase, 'columns' | 'primaryKey'> = {
  columns: [
    { name: 'id', type: 'int8' },
    { name: 'v', type: 'varchar' },
  ],
  primaryKey: ['id'],
};

export const CASES: GoldenCase[] = [
  {
    name: 'single-key',
    table: 'employees',
    ...employees,
    op: {
      kind: 'upsert',
      rows: ['{"id":1,"name":"Terry","office":"new york city"}', '{"id":1101234051444375553,"name":"Alex","office":"los angeles"}'],
    },
    expected: [
      ['1', 'Terry', 'new york city'],
      ['1101234051444375553', 'Alex', 'los angeles'],
    ],
  },
  {
    name: 'single-key-mysql8',
    table: 'employees',
    ...employees,
    only: ['mysql'],
    mysqlStyle: 'row-alias',
    renderOnly: true,
    op: { kind: 'upsert', rows: ['{"id":1,"name":"Terry","office":"new york city"}'] },
    expected: [],
  },
  {
    name: 'composite-key',
    table: 'vehicles',
    ...vehicles,
    op: { kind: 'upsert', rows: vehicleRows },
    expected: [
      ['paris', V2, OWNER, 'available'],
      ['rome', V1, null, 'in_use'],
    ],
  },
  {
    name: 'pk-only',
    table: 'tags',
    columns: [
      { name: 'post_id', type: 'int8' },
      { name: 'tag', type: 'varchar' },
    ],
    primaryKey: ['post_id', 'tag'],
    op: { kind: 'upsert', rows: ['{"post_id":1,"tag":"a"}', '{"post_id":1,"tag":"b"}'] },
    expected: [
      ['1', 'a'],
      ['1', 'b'],
    ],
  },
  {
    name: 'generated-column',
    table: 'orders',
    columns: [
      { name: 'id', type: 'int8' },
      { name: 'qty', type: 'int8' },
      { name: 'price', type: 'decimal' },
      { name: 'total', type: 'decimal', generated: 'qty * price' },
    ],
    primaryKey: ['id'],
    // The changefeed sends the computed column too; it is never written.
    op: { kind: 'upsert', rows: ['{"id":1,"price":2.50,"qty":3,"total":7.50}'] },
    expected: [['1', '3', '2.5', '7.5']],
  },
  {
    name: 'types',
    table: 'typed',
    columns: [
      { name: 'id', type: 'int8' },
      { name: 'amount', type: 'decimal' },
      { name: 'doc', type: 'json' },
      { name: 'data', type: 'bytes' },
      { name: 'at', type: 'timestamptz' },
      { name: 'local_at', type: 'timestamp' },
      { name: 'day', type: 'date' },
      { name: 'ok', type: 'bool' },
      { name: 'ratio', type: 'float' },
      { name: 'ref', type: 'uuid' },
    ],
    primaryKey: ['id'],
    only: ['postgres', 'mysql'],
    op: {
      kind: 'upsert',
      rows: [
        '{"amount":"125.50","at":"2025-09-30T15:42:02.007123+02:00","data":"\\\\x00ff10","day":"2025-09-30","doc":{"b":[1,2.50],"a":"x"},"id":9007199254740993,"local_at":"2025-09-30T15:42:02.5","ok":true,"ratio":0.25,"ref":"8D6D2C1E-6A0B-4F6E-9A57-0F8A3F2F1B44"}',
        '{"amount":1E+3,"at":"2025-01-01T00:00:00Z","data":null,"day":null,"doc":null,"id":-5,"local_at":null,"ok":false,"ratio":-1.5e-7,"ref":null}',
      ],
    },
    expected: [
      ['-5', '1000', null, null, '2025-01-01T00:00:00.000000Z', null, null, 'false', '-1.5e-7', null],
      [
        '9007199254740993',
        '125.5',
        '{"a":"x","b":[1,2.5]}',
        '00ff10',
        '2025-09-30T13:42:02.007123Z',
        '2025-09-30T15:42:02.500000',
        '2025-09-30',
        'true',
        '0.25',
        '8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44',
      ],
    ],
  },
  {
    // Oracle variant of the types case: its NUMBER(1) flag takes 1/0 and BLOB/RAW/JSON binds differ.
    name: 'types',
    table: 'typed',
    columns: [
      { name: 'id', type: 'int8' },
      { name: 'amount', type: 'decimal' },
      { name: 'doc', type: 'json' },
      { name: 'data', type: 'bytes' },
      { name: 'at', type: 'timestamptz' },
      { name: 'local_at', type: 'timestamp' },
      { name: 'day', type: 'date' },
      { name: 'ok', type: 'bool' },
      { name: 'ratio', type: 'float' },
      { name: 'ref', type: 'uuid' },
    ],
    primaryKey: ['id'],
    only: ['oracle'],
    renderOnly: true,
    op: {
      kind: 'upsert',
      rows: [
        '{"amount":"125.50","at":"2025-09-30T15:42:02.007123+02:00","data":"\\\\x00ff10","day":"2025-09-30","doc":{"b":[1,2.50],"a":"x"},"id":9007199254740993,"local_at":"2025-09-30T15:42:02.5","ok":true,"ratio":0.25,"ref":"8D6D2C1E-6A0B-4F6E-9A57-0F8A3F2F1B44"}',
      ],
    },
    expected: [],
  },
  {
    name: 'partial-payload',
    table: 'people',
    columns: [
      { name: 'id', type: 'int8' },
      { name: 'name', type: 'varchar' },
      { name: 'email', type: 'varchar' },
      { name: 'note', type: 'varchar' },
    ],
    primaryKey: ['id'],
    setup: ['{"email":"a@example.com","id":1,"name":"Ann","note":"keep me"}'],
    // Row 1 carries only email: name and note keep their values. Row 2 is new: absent columns get NULL.
    op: { kind: 'upsert', rows: ['{"email":"ann@example.com","id":1}', '{"id":2,"name":"Bob"}'] },
    expected: [
      ['1', 'Ann', 'ann@example.com', 'keep me'],
      ['2', 'Bob', null, null],
    ],
  },
  {
    name: 'delete-single',
    table: 'staff',
    ...employees,
    setup: [
      '{"id":1,"name":"Terry","office":"nyc"}',
      '{"id":2,"name":"Alex","office":"la"}',
      '{"id":1101234051444375553,"name":"Big","office":"sf"}',
    ],
    // 1101234051444375552 is one below a stored key: it must not match it (no rounding through doubles).
    op: { kind: 'delete', keys: [[n('1')], [n('1101234051444375553')], [n('1101234051444375552')]] },
    expected: [['2', 'Alex', 'la']],
  },
  {
    name: 'delete-composite',
    table: 'fleet',
    ...vehicles,
    setup: vehicleRows,
    op: { kind: 'delete', keys: [['rome', V1]] },
    expected: [['paris', V2, OWNER, 'available']],
  },
  {
    name: 'chunking-upsert',
    table: 'events',
    ...events,
    limits: { maxRowsPerStatement: 2 },
    op: { kind: 'upsert', rows: [1, 2, 3, 4, 5].map((i) => `{"id":${i},"v":"e${i}"}`) },
    expected: [1, 2, 3, 4, 5].map((i) => [String(i), `e${i}`]),
  },
  {
    name: 'chunking-delete',
    table: 'events2',
    ...events,
    limits: { maxRowsPerStatement: 2 },
    setup: [1, 2, 3, 4, 5].map((i) => `{"id":${i},"v":"e${i}"}`),
    op: { kind: 'delete', keys: [[n('1')], [n('2')], [n('4')]] },
    expected: [
      ['3', 'e3'],
      ['5', 'e5'],
    ],
  },
  {
    // unnest would flatten the array column, so this table gets multi-row VALUES.
    name: 'array-column',
    table: 'posts',
    columns: [
      { name: 'id', type: 'int8' },
      { name: 'tags', type: 'text[]' },
    ],
    primaryKey: ['id'],
    only: ['postgres'],
    op: { kind: 'upsert', rows: ['{"id":1,"tags":["a","b c",null]}', '{"id":2,"tags":[]}'] },
    expected: [
      ['1', '{a,"b c",NULL}'],
      ['2', '{}'],
    ],
  },
];

export const casesFor = (dialect: DialectName): GoldenCase[] => CASES.filter((c) => !c.only || c.only.includes(dialect));

/** Parameters as golden text: Buffers as hex, inlined MySQL literals marked, everything else JSON. */
function describe(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return `0x${Buffer.from((v as { data: number[] }).data).toString('hex')}`;
    }
    return v;
  });
}

/** The statements a case renders to, as the golden text. */
export function renderCase(dialect: DialectName, c: GoldenCase, schema: TargetSchema = GOLDEN_SCHEMAS[dialect]): string {
  const table = tableFor(dialect, c);
  const limits = c.limits ?? DEFAULT_LIMITS;
  const out: string[] = [];
  if (c.op.kind === 'upsert') {
    for (const g of shapeUpserts(table, c.op.rows)) {
      if (dialect === 'postgres') for (const s of pgSql.renderUpsert(schema, table, g, limits)) out.push(`${s.sql};\n-- params: ${describe(s.params)}\n`);
      if (dialect === 'mysql') {
        for (const s of mySql.renderUpsert(schema, table, g, limits, c.mysqlStyle ?? 'values-function')) {
          out.push(`${s.sql};\n-- params: ${describe(s.params)}\n`);
        }
      }
      if (dialect === 'oracle') {
        for (const b of oraSql.renderMerge(schema, table, g, limits)) {
          out.push(`${b.sql};\n-- bindDefs: ${describe(b.bindDefs)}\n-- binds: ${describe(b.binds)}\n`);
        }
      }
    }
  } else {
    const { columns, rows } = shapeDeletes(table, c.op.keys);
    if (dialect === 'postgres') for (const s of pgSql.renderDelete(schema, table, columns, rows, limits)) out.push(`${s.sql};\n-- params: ${describe(s.params)}\n`);
    if (dialect === 'mysql') for (const s of mySql.renderDelete(schema, table, columns, rows, limits)) out.push(`${s.sql};\n-- params: ${describe(s.params)}\n`);
    if (dialect === 'oracle') {
      for (const b of oraSql.renderDelete(schema, table, columns, rows, limits)) {
        out.push(`${b.sql};\n-- bindDefs: ${describe(b.bindDefs)}\n-- binds: ${describe(b.binds)}\n`);
      }
    }
  }
  return `-- ${dialect}: ${c.name} (generated by test/golden/golden.test.ts; UPDATE_GOLDEN=1 rewrites)\n${out.join('\n')}`;
}
