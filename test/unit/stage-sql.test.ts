/**
 * The staging SQL must run on CockroachDB (production) and PostgreSQL (tests): two-part names only,
 * and none of the PostgreSQL-only constructs CockroachDB rejects. Real execution is covered by
 * test/integration/engine-stage.test.ts against PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ident, stagingSql, TABLES } from '../../src/replicator/stage/sql.js';

const sql = stagingSql('my "odd" schema');
const all = [...sql.ddl, ...Object.entries(sql).filter(([k]) => k !== 'ddl').map(([, v]) => v as string)];

test('identifiers are quoted and every table name has two parts', () => {
  assert.equal(ident('a"b'), '"a""b"');
  for (const s of all) {
    for (const t of TABLES) {
      if (!s.includes(t)) continue;
      assert.ok(s.includes(`"my ""odd"" schema"."${t}"`), `${t} in: ${s}`);
      assert.doesNotMatch(s, new RegExp(`(?<![.])"${t}"`), 'no unqualified table');
    }
  }
});

test('only SQL that CockroachDB and PostgreSQL both accept', () => {
  const forbidden = [/UNLOGGED/i, /plpgsql/i, /\bILIKE\b/i, /::regclass/i, /\bSERIAL\b/i, /gen_random_uuid/i, /\bJSONB?\b/i, /CREATE DATABASE IF NOT EXISTS/i, /\bUPSERT\b/i, /@\{/, /AS OF SYSTEM TIME/i];
  for (const s of all) for (const f of forbidden) assert.doesNotMatch(s, f, s);
  for (const s of sql.ddl) assert.match(s, /^CREATE TABLE IF NOT EXISTS /);
  assert.match(sql.insertMutations, /ON CONFLICT DO NOTHING/);
  assert.match(sql.insertMutations, /unnest\(\$2::INT8\[\]\)/);
  assert.match(sql.lockLease, /FOR UPDATE$/);
});

test('the mutations key makes duplicate deliveries no-ops', () => {
  assert.match(sql.ddl[0] as string, /PRIMARY KEY \(target_schema, nanos, logical, table_name, key_json\)/);
});
