/**
 * SELECT equivalents of CockroachDB's SHOW statements over the emulator catalog, with CockroachDB's
 * column names and types. Used for top-level SHOW statements and for `[SHOW ...]` / `(SHOW ...)`
 * sources inside other queries. Returns undefined for SHOW statements PostgreSQL should answer
 * (session variables such as `SHOW timezone`).
 */
import { findSetting } from '../catalog/settings.js';
import type { Token } from './lexer.js';
import { TokenCursor } from './cursor.js';
import { ident, lit } from './literals.js';
import { databaseRef, tableRegclassText, type NameContext } from './names.js';

export type ShowResult = { sql: string } | { error: { code: string; message: string } };

export const CHANGEFEED_JOB_COLUMNS =
  'job_id, description, user_name, status, running_status, created, started, finished, modified, high_water_timestamp, ' +
  'readable_high_water_timestamptz, error, sink_uri, full_table_names, topics, format';
const JOB_COLUMNS =
  'job_id, job_type, description, statement, user_name, status, running_status, created, started, finished, modified, ' +
  'fraction_completed, error, coordinator_id';

const recent = "(finished IS NULL OR finished > now() - interval '12 hours')";

function settingExpr(name: string): ShowResult {
  const def = findSetting(name);
  if (!def) return { error: { code: 'XXUUU', message: `unknown cluster setting '${name.toLowerCase()}'` } };
  const n = lit(def.name);
  const col = ident(def.name);
  switch (def.type) {
    case 'b':
      return { sql: `SELECT _crdb_emulator.setting_text(${n})::boolean AS ${col}` };
    case 'd':
      return { sql: `SELECT _crdb_emulator.setting_interval(${n}) AS ${col}` };
    case 'i':
      return { sql: `SELECT _crdb_emulator.setting_text(${n})::int8 AS ${col}` };
    default:
      return { sql: `SELECT _crdb_emulator.setting_text(${n}) AS ${col}` };
  }
}

/** `tokens` are the significant tokens of a statement starting with SHOW. */
export function showSelect(tokens: Token[], sql: string, ctx: NameContext): ShowResult | undefined {
  const c = new TokenCursor(tokens, sql);
  c.expectWord('SHOW');
  // SHOW [ALL|PUBLIC] CLUSTER SETTINGS / SHOW CLUSTER SETTING <name>|ALL
  const all = c.acceptWord('ALL', 'PUBLIC');
  if (c.acceptWord('CLUSTER')) {
    if (c.acceptWord('SETTINGS')) {
      c.expectEnd();
      return all === 'ALL'
        ? { sql: 'SELECT variable, value, setting_type, public, description, default_value, origin FROM _crdb_emulator.cluster_settings ORDER BY variable' }
        : { sql: 'SELECT variable, value, setting_type, description, default_value, origin FROM _crdb_emulator.cluster_settings WHERE public ORDER BY variable' };
    }
    c.expectWord('SETTING');
    if (c.acceptWord('ALL')) {
      c.expectEnd();
      return { sql: 'SELECT variable, value, setting_type, public, description, default_value, origin FROM _crdb_emulator.cluster_settings ORDER BY variable' };
    }
    const name = c.dottedName().map((p) => p.value).join('.');
    c.expectEnd();
    return settingExpr(name);
  }
  if (all === 'ALL' && c.isWord('ZONE')) {
    // SHOW ALL ZONE CONFIGURATIONS
    c.expectWord('ZONE');
    c.expectWord('CONFIGURATIONS');
    c.expectEnd();
    return { sql: 'SELECT target, raw_config_sql FROM _crdb_emulator.show_zones()' };
  }
  if (all) return undefined;
  if (c.acceptWord('CHANGEFEED')) {
    if (c.acceptWord('JOBS')) {
      c.expectEnd();
      return { sql: `SELECT ${CHANGEFEED_JOB_COLUMNS} FROM _crdb_emulator.changefeed_jobs WHERE ${recent} ORDER BY created DESC` };
    }
    c.expectWord('JOB');
    const expr = c.rest();
    if (!expr) throw c.error();
    return { sql: `SELECT ${CHANGEFEED_JOB_COLUMNS} FROM _crdb_emulator.changefeed_jobs WHERE job_id = (${expr})::int8` };
  }
  if (c.acceptWord('AUTOMATIC')) {
    c.expectWord('JOBS');
    c.expectEnd();
    return { sql: `SELECT ${JOB_COLUMNS} FROM crdb_internal.jobs WHERE false` };
  }
  if (c.acceptWord('JOBS')) {
    c.expectEnd();
    return { sql: `SELECT ${JOB_COLUMNS} FROM crdb_internal.jobs WHERE ${recent} ORDER BY created DESC` };
  }
  if (c.acceptWord('JOB')) {
    const expr = c.rest();
    if (!expr) throw c.error();
    return { sql: `SELECT ${JOB_COLUMNS} FROM crdb_internal.jobs WHERE job_id = (${expr})::int8` };
  }
  if (c.acceptWord('ZONE')) {
    if (c.acceptWord('CONFIGURATIONS')) {
      c.expectEnd();
      return { sql: 'SELECT target, raw_config_sql FROM _crdb_emulator.show_zones()' };
    }
    c.expectWord('CONFIGURATION');
    if (c.done) return { sql: 'SELECT target, raw_config_sql FROM _crdb_emulator.show_zones()' };
    c.expectWord('FROM', 'FOR');
    const kind = c.expectWord('DATABASE', 'TABLE', 'RANGE', 'INDEX', 'PARTITION');
    if (kind === 'DATABASE') {
      const db = databaseRef(c.dottedName(), ctx);
      c.expectEnd();
      if ('error' in db) return db;
      return { sql: `SELECT target, raw_config_sql FROM _crdb_emulator.show_zone('DATABASE', 'defaultdb')` };
    }
    if (kind === 'RANGE') {
      const name = c.dottedName().map((p) => p.value).join('.');
      c.expectEnd();
      if (name !== 'default') return { error: { code: '42704', message: `"${name}" is not a supported range in the CockroachDB emulator (only RANGE default)` } };
      return { sql: `SELECT target, raw_config_sql FROM _crdb_emulator.show_zone('RANGE', 'default')` };
    }
    if (kind === 'TABLE') {
      const t = tableRegclassText(c.dottedName(), ctx);
      c.expectEnd();
      if ('error' in t) return t;
      return { sql: `SELECT target, raw_config_sql FROM _crdb_emulator.show_zone('TABLE', _crdb_emulator.zone_table_name(${lit(t.regclass)}, ${lit(t.display)}))` };
    }
    return { error: { code: '0A000', message: `the CockroachDB emulator does not support zone configurations for ${kind.toLowerCase()}es` } };
  }
  if (c.acceptWord('DATABASES')) {
    c.expectEnd();
    return {
      sql:
        "SELECT d AS database_name, 'root'::text AS owner, NULL::text AS primary_region, NULL::text AS secondary_region, '{}'::text[] AS regions, NULL::text AS survival_goal " +
        "FROM unnest(ARRAY['defaultdb', 'postgres', 'system']) AS d ORDER BY d",
    };
  }
  return undefined;
}
