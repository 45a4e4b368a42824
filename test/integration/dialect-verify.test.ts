/**
 * Verification reads: the same logical rows written through each dialect to live PostgreSQL and
 * MariaDB read back (readRows) as identical canonical text, page by page. This is what lets
 * `molt-failback verify` compare CockroachDB with either target.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { NormalisedRow, SchemaInfo } from '../../src/replicator/types.js';
import { closeLiveTargets, openLiveTargets, type LiveTarget } from '../golden/live.js';

let targets: LiveTarget[] = [];
const infos = new Map<string, SchemaInfo>();

// Same logical columns, each database's natural types (a CockroachDB schema mapped as MOLT users do).
// Text keys under a linguistic / case-insensitive collation, as many targets have them.
const NAMES_DDL = {
  postgres: `CREATE TABLE names (k varchar(20) COLLATE "en-x-icu" PRIMARY KEY, n int)`,
  mysql: `CREATE TABLE names (k varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, n int)`,
};
// Distinct under utf8mb4_general_ci too (which would fold 'B' into 'b' and 'ä' into 'a').
const NAMES = ['b', 'C', 'a', 'Z', '_x', ' space', 'é', 'ö', '😀', 'ﬀ', '1'];
// Code-point order (CockroachDB's STRING order), which verify merges by; the collations above say
// a < C and é next to e.
const NAMES_BINARY = [' space', '1', 'C', 'Z', '_x', 'a', 'b', 'é', 'ö', 'ﬀ', '😀'];

const DDL = {
  postgres: [
    `CREATE TYPE mood AS ENUM ('sad', 'happy')`,
    `CREATE TABLE wide (
       region varchar(10) NOT NULL, id bigint NOT NULL, amount numeric(38,10), ratio float8, small real, ok boolean,
       label varchar(50), doc jsonb, data bytea, ref uuid, day date, at_time time(6), local_at timestamp(6),
       at timestamptz(6), m mood, PRIMARY KEY (region, id))`,
  ],
  mysql: [
    `CREATE TABLE wide (
       region varchar(10) NOT NULL, id bigint NOT NULL, amount decimal(38,10), ratio double, small float, ok boolean,
       label varchar(50), doc json, data varbinary(100), ref char(36), day date, at_time time(6), local_at datetime(6),
       at timestamp(6) NULL, m enum('sad','happy'), PRIMARY KEY (region, id))`,
  ],
};

// As CockroachDB's changefeed would send them (exact numbers, \x bytes, RFC 3339 timestamps).
const ROWS = [
  '{"region":"eu","id":1101234051444375553,"amount":1234567890123456789012345678.1234567890,"ratio":0.1,"small":0.1,"ok":true,"label":"café ☕","doc":{"z":[1,2.50,{"b":null,"a":true}],"a":"x"},"data":"\\\\x00ff10","ref":"8D6D2C1E-6A0B-4F6E-9A57-0F8A3F2F1B44","day":"2025-09-30","at_time":"23:59:59.999999","local_at":"2025-09-30T15:42:02.123456","at":"2025-09-30T15:42:02.007123+02:00","m":"happy"}',
  '{"region":"eu","id":1101234051444375552,"amount":-0.5,"ratio":-1.5e-7,"small":3.25,"ok":false,"label":"  spaced  ","doc":[1,"two",null],"data":"\\\\x","ref":"020cf7f4-6324-48a0-9f74-6c9010fb1ab4","day":"1999-12-31","at_time":"00:00:00","local_at":"2000-01-01T00:00:00","at":"2024-02-29T23:30:00-01:00","m":"sad"}',
  '{"region":"us","id":-7,"amount":"125.50","ratio":1e+21,"small":-2,"ok":null,"label":null,"doc":{"n":1e2,"f":1.0},"data":null,"ref":null,"day":null,"at_time":null,"local_at":null,"at":null,"m":null}',
  '{"region":"ap","id":0,"amount":0,"ratio":-0.0,"small":0,"ok":true,"label":"","doc":"just a string","data":"\\\\xdeadbeef","ref":"b74ea421-fcaf-4d80-9dcc-d222d49bdc17","day":"2024-02-29","at_time":"12:00:00.5","local_at":"1970-01-01T00:00:00.000001","at":"2038-01-19T03:14:07Z","m":"happy"}',
];

before(async () => {
  targets = await openLiveTargets('dialect_verify');
  for (const t of targets) {
    await t.pool.execAdmin([...DDL[t.dialect], NAMES_DDL[t.dialect]]);
    const info = (await t.pool.introspect(t.schema))!;
    infos.set(t.dialect, info);
    await t.pool.transaction(async (tx) => {
      await tx.upsert(info.schema, info.tables.get('wide')!, ROWS);
      await tx.upsert(info.schema, info.tables.get('names')!, NAMES.map((k, n) => JSON.stringify({ k, n })));
    });
  }
});
after(async () => {
  await closeLiveTargets(targets);
});

async function readAll(t: LiveTarget, limit: number): Promise<NormalisedRow[]> {
  const info = infos.get(t.dialect)!;
  const table = info.tables.get('wide')!;
  const out: NormalisedRow[] = [];
  let after: string[] | undefined;
  for (;;) {
    const page = await t.pool.readRows(info.schema, table, { limit, after });
    out.push(...page);
    if (page.length < limit) return out;
    after = [page.at(-1)![0]!, page.at(-1)![1]!];
  }
}

describe('canonical rows are identical on PostgreSQL and MariaDB', () => {
  it('whole table', async () => {
    const [pgRows, myRows] = await Promise.all(targets.map((t) => readAll(t, 100)));
    assert.deepEqual(myRows, pgRows);
    assert.deepEqual(pgRows[1], [
      'eu',
      '1101234051444375552',
      '-0.5',
      '-1.5e-7',
      '3.25',
      'false',
      '  spaced  ',
      '[1,"two",null]',
      '',
      '020cf7f4-6324-48a0-9f74-6c9010fb1ab4',
      '1999-12-31',
      '00:00:00.000000',
      '2000-01-01T00:00:00.000000',
      '2024-03-01T00:30:00.000000Z',
      'sad',
    ]);
    assert.deepEqual(pgRows[2], [
      'eu',
      '1101234051444375553',
      '1234567890123456789012345678.123456789',
      '0.1',
      '0.1',
      'true',
      'café ☕',
      '{"a":"x","z":[1,2.5,{"a":true,"b":null}]}',
      '00ff10',
      '8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44',
      '2025-09-30',
      '23:59:59.999999',
      '2025-09-30T15:42:02.123456',
      '2025-09-30T13:42:02.007123Z',
      'happy',
    ]);
    assert.deepEqual(pgRows[0]!.slice(0, 4), ['ap', '0', '0', '0']);
    assert.deepEqual(pgRows[3]!.slice(0, 8), ['us', '-7', '125.5', '1e+21', '-2', null, null, '{"f":1,"n":100}']);
  });

  it('text keys come in binary (code-point) order whatever the column collation, page by page', async () => {
    for (const t of targets) {
      const info = infos.get(t.dialect)!;
      const table = info.tables.get('names')!;
      const seen: string[] = [];
      let after: string[] | undefined;
      for (;;) {
        const page = await t.pool.readRows(info.schema, table, { limit: 3, after });
        seen.push(...page.map((r) => r[0]!));
        if (page.length < 3) break;
        after = [page.at(-1)![0]!];
      }
      assert.deepEqual(seen, NAMES_BINARY, t.label);
    }
  });

  it('MariaDB UUIDs in BINARY(16), CHAR(36) and UUID columns and BIT(1) booleans read like PostgreSQL uuid/boolean', async () => {
    const my = targets.find((t) => t.dialect === 'mysql')!;
    const pgT = targets.find((t) => t.dialect === 'postgres')!;
    await my.pool.execAdmin([`CREATE TABLE ids (b binary(16) PRIMARY KEY, c char(36), u uuid, f bit(1))`]);
    await pgT.pool.execAdmin([`CREATE TABLE ids (b uuid PRIMARY KEY, c uuid, u uuid, f boolean)`]);
    const payload = [
      '{"b":"8D6D2C1E-6A0B-4F6E-9A57-0F8A3F2F1B44","c":"8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44","u":"8d6d2c1e-6a0b-4f6e-9a57-0f8a3f2f1b44","f":true}',
      '{"b":"020cf7f4-6324-48a0-9f74-6c9010fb1ab4","c":null,"u":"ffffffff-0000-0000-0000-000000000001","f":false}',
    ];
    const read = async (t: LiveTarget) => {
      const info = (await t.pool.introspect(t.schema))!;
      const table = info.tables.get('ids')!;
      await t.pool.transaction((tx) => tx.upsert(info.schema, table, payload));
      return t.pool.readRows(info.schema, table, { limit: 10 });
    };
    const [fromPg, fromMy] = [await read(pgT), await read(my)];
    assert.deepEqual(fromMy, fromPg);
    assert.deepEqual(fromPg[0], ['020cf7f4-6324-48a0-9f74-6c9010fb1ab4', null, 'ffffffff-0000-0000-0000-000000000001', 'false']);
    // Paging by a BINARY(16) key works from the canonical text.
    const info = (await my.pool.introspect(my.schema))!;
    const rest = await my.pool.readRows(info.schema, info.tables.get('ids')!, { limit: 10, after: [fromMy[0]![0]!] });
    assert.deepEqual(rest, fromMy.slice(1));
  });

  it('page by page (keyset on a composite key)', async () => {
    const [pgRows, myRows] = await Promise.all(targets.map((t) => readAll(t, 2)));
    assert.equal(pgRows.length, 4);
    assert.deepEqual(myRows, pgRows);
  });
});
