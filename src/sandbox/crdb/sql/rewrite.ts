/**
 * Turns one client statement into the SQL the backend runs. CockroachDB-specific statements become
 * calls of the emulator's functions (with the tracker action that gives the reply CockroachDB's
 * shape); everything else passes through with small inline rewrites: `[SHOW ...]` and `(SHOW ...)`
 * sources, version()/cluster_logical_timestamp()/current_database()/unique_rowid(), the `defaultdb.`
 * qualifier, and STRING/BYTES column types in DDL. Errors CockroachDB would raise become calls that
 * RAISE its exact text, so they surface in order, inside the client's transaction, on both protocols.
 * Pure: no I/O.
 */
import { findSetting, normalizeSettingValue, SettingError } from '../catalog/settings.js';
import { validateChangefeed, ChangefeedError, type RawOption } from '../changefeed/options.js';
import { PASS, type Action } from '../server/tracker.js';
import { identValue, significant, stringValue, tokenize, type Token } from './lexer.js';
import { SqlSyntaxError, TokenCursor, type ValueToken } from './cursor.js';
import { lit } from './literals.js';
import { databaseRef, tableRegclassText, type NameContext } from './names.js';
import { showSelect } from './show.js';

export interface RewriteContext extends NameContext {
  /** The client's user name (job owner). */
  user: string;
}

/** How an error is rendered: a CALL (top level), or a row-shaped SELECT inside deferred SQL. */
export type Shape = 'call' | 'job';

export interface Rewrite {
  sql: string;
  /** Tracker action for the statement's execution result. */
  action: Action;
  /** Tracker action for an extended-protocol Describe of it. */
  describe: Action;
  /** Passed-through DDL: capture triggers must be refreshed afterwards. */
  ddl: boolean;
  /** A CockroachDB-specific statement the emulator answered. */
  emulated: boolean;
  /** Values arrive as placeholders: the real SQL is built at Bind time (see session). */
  deferred?: Shape | 'setting';
}

const pass = (sql: string, ddl = false): Rewrite => ({ sql, action: PASS, describe: PASS, ddl, emulated: false });
const emulated = (sql: string, action: Action = PASS, describe: Action = PASS): Rewrite => ({ sql, action, describe, ddl: false, emulated: true });

export function errorSql(code: string, message: string, shape: Shape = 'call'): string {
  return shape === 'call'
    ? `CALL _crdb_emulator.raise(${lit(code)}, ${lit(message)})`
    : `SELECT _crdb_emulator.raise_fn(${lit(code)}, ${lit(message)})::int8 AS job_id`;
}
const errorRewrite = (code: string, message: string, shape: Shape = 'call'): Rewrite => emulated(errorSql(code, message, shape));

/** CockroachDB session variables PostgreSQL does not know; setting them is accepted and ignored. */
const CRDB_ONLY_SESSION_VARS = new Set([
  'sql_safe_updates', 'default_int_size', 'serial_normalization', 'autocommit_before_ddl', 'experimental_enable_temp_tables',
  'vectorize', 'distsql', 'reorder_joins_limit', 'default_transaction_use_follower_reads', 'enable_implicit_select_for_update',
  'optimizer_use_histograms', 'copy_from_atomic_enabled', 'copy_from_retries_enabled', 'results_buffer_size',
  'default_transaction_quality_of_service', 'transaction_rows_read_err', 'transaction_rows_written_err',
  'large_full_scan_rows', 'disallow_full_table_scans', 'enable_zigzag_join', 'expect_and_ignore_not_visible_columns_in_copy',
]);

const DDL_START = new Set(['CREATE', 'ALTER', 'DROP', 'IMPORT']);

export function rewriteStatement(text: string, tokens: Token[], ctx: RewriteContext, shape: Shape = 'call'): Rewrite {
  const sig = significant(tokens);
  const first = sig[0]?.upper;
  try {
    const hasParams = sig.some((t) => t.type === 'param');
    switch (first) {
      case 'SET':
      case 'RESET': {
        const w1 = sig[1]?.upper;
        if (w1 === 'CLUSTER' && sig[2]?.upper === 'SETTING') {
          if (hasParams && shape === 'call') return { ...emulated('CALL _crdb_emulator.exec_deferred($1::text)', { kind: 'retag', tag: 'SET CLUSTER SETTING' }), deferred: 'setting' };
          return setClusterSetting(sig, text, first === 'RESET');
        }
        if (first === 'SET') {
          const r = setSessionVar(sig, text, ctx);
          if (r) return r;
        }
        break;
      }
      case 'SHOW': {
        const r = showSelect(sig, text, ctx);
        if (r) return 'error' in r ? errorRewrite(r.error.code, r.error.message, shape) : emulated(r.sql);
        break;
      }
      case 'CREATE': {
        if (sig[1]?.upper === 'CHANGEFEED') {
          if (hasParams && shape === 'call') {
            return { ...emulated('SELECT job_id FROM _crdb_emulator.exec_deferred_job($1::text)'), deferred: 'job' };
          }
          return createChangefeed(sig, text, ctx, shape);
        }
        if (sig[1]?.upper === 'DATABASE') return createDatabase(sig, text, ctx);
        break;
      }
      case 'DROP':
        if (sig[1]?.upper === 'DATABASE') {
          return errorRewrite('0A000', 'the CockroachDB emulator serves a single database (defaultdb) and cannot drop it');
        }
        break;
      case 'USE': {
        const c = new TokenCursor(sig, text);
        c.expectWord('USE');
        const db = databaseRef(c.dottedName(), ctx);
        c.expectEnd();
        return 'error' in db ? errorRewrite(db.error.code, db.error.message) : emulated('CALL _crdb_emulator.noop()', { kind: 'retag', tag: 'SET' });
      }
      case 'PAUSE':
      case 'RESUME':
      case 'CANCEL':
        if (sig[1]?.upper === 'JOB' || sig[1]?.upper === 'JOBS' || sig[1]?.upper === 'ALL') return controlJobs(sig, text, ctx);
        break;
      case 'ALTER':
        if (sig.some((t) => t.upper === 'CONFIGURE') && sig.some((t) => t.upper === 'ZONE')) return configureZone(sig, text, ctx);
        break;
      default:
        break;
    }
  } catch (err) {
    if (err instanceof SqlSyntaxError) return errorRewrite('42601', err.message, shape);
    throw err;
  }
  const ddl = first !== undefined && DDL_START.has(first);
  return pass(rewriteInline(text, tokens, ctx, ddl), ddl);
}

// ------------------------------------------------------------------ cluster settings

function valueText(v: ValueToken): string {
  return v.kind === 'param' ? v.text : v.value;
}

function setClusterSetting(sig: Token[], text: string, reset: boolean): Rewrite {
  const c = new TokenCursor(sig, text);
  c.expectWord('SET', 'RESET');
  c.expectWord('CLUSTER');
  c.expectWord('SETTING');
  const name = c.dottedName().map((p) => p.value).join('.');
  let value: ValueToken | undefined;
  if (!reset) {
    if (!c.acceptPunct('=')) c.expectWord('TO');
    value = c.value();
  }
  c.expectEnd();
  const def = findSetting(name);
  if (!def) return errorRewrite('XXUUU', `unknown cluster setting '${name}'`);
  const tag: Action = { kind: 'retag', tag: 'SET CLUSTER SETTING' };
  if (!value || (value.kind === 'word' && value.value === 'default')) {
    return emulated(`CALL _crdb_emulator.reset_cluster_setting(${lit(def.name)})`, tag);
  }
  try {
    const n = normalizeSettingValue(def, valueText(value));
    return emulated(`CALL _crdb_emulator.set_cluster_setting(${lit(def.name)}, ${lit(n.text)}, ${n.micros === null ? 'NULL' : n.micros.toString()})`, tag);
  } catch (err) {
    if (err instanceof SettingError) return emulated(errorSql('22023', err.message), tag);
    throw err;
  }
}

function setSessionVar(sig: Token[], text: string, ctx: RewriteContext): Rewrite | undefined {
  const c = new TokenCursor(sig, text);
  c.expectWord('SET');
  c.acceptWord('SESSION');
  const t = c.peek();
  if (!t || t.type !== 'ident') return undefined;
  const name = t.text.toLowerCase();
  if (name === 'database') {
    c.next();
    if (!c.acceptPunct('=')) c.expectWord('TO');
    const v = c.value();
    c.expectEnd();
    const db = databaseRef([{ value: v.kind === 'param' ? v.text : v.value, text: v.text }], ctx);
    return 'error' in db ? errorRewrite(db.error.code, db.error.message) : emulated('CALL _crdb_emulator.noop()', { kind: 'retag', tag: 'SET' });
  }
  if (CRDB_ONLY_SESSION_VARS.has(name)) return emulated('CALL _crdb_emulator.noop()', { kind: 'retag', tag: 'SET' });
  return undefined;
}

// ------------------------------------------------------------------ databases

function createDatabase(sig: Token[], text: string, ctx: RewriteContext): Rewrite {
  const c = new TokenCursor(sig, text);
  c.expectWord('CREATE');
  c.expectWord('DATABASE');
  let ifNotExists = false;
  if (c.acceptWord('IF')) {
    c.expectWord('NOT');
    c.expectWord('EXISTS');
    ifNotExists = true;
  }
  const parts = c.dottedName();
  const name = parts.map((p) => p.value).join('.');
  if (parts.length === 1 && ctx.databaseNames.has(name.toLowerCase())) {
    if (ifNotExists) return emulated('CALL _crdb_emulator.noop()', { kind: 'retag', tag: 'CREATE DATABASE' });
    return errorRewrite('42P04', `database "${name}" already exists`);
  }
  return errorRewrite('0A000', `the CockroachDB emulator serves a single database (defaultdb); create a schema instead: CREATE SCHEMA IF NOT EXISTS ${name}`);
}

// ------------------------------------------------------------------ jobs

function controlJobs(sig: Token[], text: string, ctx: RewriteContext): Rewrite {
  const c = new TokenCursor(sig, text);
  const verb = c.expectWord('PAUSE', 'RESUME', 'CANCEL');
  const cmd = verb.toLowerCase();
  const countTag: Action = { kind: 'countTag', prefix: `${verb} JOBS` };
  const noData: Action = { kind: 'noData' };
  let ids: string;
  if (c.acceptWord('ALL')) {
    const type = c.dottedName().map((p) => p.value).join('.').toUpperCase();
    c.expectWord('JOBS');
    c.expectEnd();
    ids = `_crdb_emulator.all_jobs_for(${lit(cmd)}, ${lit(type)})`;
  } else if (c.acceptWord('JOBS')) {
    if (c.isWord('FOR')) return errorRewrite('0A000', `the CockroachDB emulator does not support ${verb} JOBS FOR SCHEDULES`);
    let sub = stripReason(c.rest());
    sub = rewriteInline(sub, tokenize(sub), ctx, false);
    ids = `(SELECT COALESCE(array_agg(v::int8), '{}') FROM (${sub.replace(/^\s*\(/, '').replace(/\)\s*$/, '')}) AS _crdb_ids(v))`;
  } else {
    c.expectWord('JOB');
    let expr = stripReason(c.rest());
    if (!expr.trim()) throw c.error();
    expr = rewriteInline(expr, tokenize(expr), ctx, false);
    ids = `ARRAY[(${expr})::int8]`;
  }
  return emulated(`SELECT _crdb_emulator.control_jobs(${lit(cmd)}, ${ids})`, countTag, noData);
}

/** Drops a trailing `WITH REASON = '...'` (recorded by CockroachDB, ignored here). */
function stripReason(expr: string): string {
  return expr.replace(/\s+WITH\s+REASON\s*=\s*(?:'(?:[^']|'')*'|\$\d+)\s*$/i, '');
}

// ------------------------------------------------------------------ zones

const ZONE_INT = new Set(['gc.ttlseconds', 'num_replicas', 'num_voters', 'range_min_bytes', 'range_max_bytes']);
const ZONE_TEXT = new Set(['constraints', 'voter_constraints', 'lease_preferences']);
const ZONE_BOOL = new Set(['global_reads']);

function configureZone(sig: Token[], text: string, ctx: RewriteContext): Rewrite {
  const c = new TokenCursor(sig, text);
  c.expectWord('ALTER');
  const kind = c.expectWord('DATABASE', 'TABLE', 'RANGE', 'INDEX', 'PARTITION');
  if (kind === 'INDEX' || kind === 'PARTITION') {
    return errorRewrite('0A000', `the CockroachDB emulator does not support zone configurations for ${kind.toLowerCase()}es`);
  }
  const parts = c.dottedName();
  c.expectWord('CONFIGURE');
  c.expectWord('ZONE');
  let target: string;
  let relid = 'NULL';
  if (kind === 'DATABASE') {
    const db = databaseRef(parts, ctx);
    if ('error' in db) return errorRewrite(db.error.code, db.error.message);
    target = lit('defaultdb');
  } else if (kind === 'RANGE') {
    const name = parts.map((p) => p.value).join('.');
    if (name !== 'default') return errorRewrite('42704', `"${name}" is not a supported range in the CockroachDB emulator (only RANGE default)`);
    target = lit('default');
  } else {
    const t = tableRegclassText(parts, ctx);
    if ('error' in t) return errorRewrite(t.error.code, t.error.message);
    target = `_crdb_emulator.zone_table_name(${lit(t.regclass)}, ${lit(t.display)})`;
    relid = `to_regclass(${lit(t.regclass)})::oid`;
  }
  const tag: Action = { kind: 'retag', tag: 'CONFIGURE ZONE 1' };
  if (c.acceptWord('DISCARD')) {
    c.expectEnd();
    return emulated(`CALL _crdb_emulator.discard_zone(${lit(kind)}, ${target})`, tag);
  }
  c.expectWord('USING');
  const sets: string[] = [];
  const unsets: string[] = [];
  for (;;) {
    const key = c.dottedName().map((p) => p.value).join('.');
    c.expectPunct('=');
    if (c.acceptWord('COPY')) {
      c.expectWord('FROM');
      c.expectWord('PARENT');
      unsets.push(key);
    } else {
      const v = c.value();
      if (!ZONE_INT.has(key) && !ZONE_TEXT.has(key) && !ZONE_BOOL.has(key)) {
        return errorRewrite('42601', `unsupported zone config parameter: "${key}"`);
      }
      if (v.kind === 'word' && v.value === 'default') unsets.push(key);
      else {
        const expr = v.kind === 'param' ? v.text : v.kind === 'string' ? lit(v.value) : v.kind === 'word' ? lit(v.value) : v.value;
        const cast = ZONE_INT.has(key) ? 'int8' : ZONE_BOOL.has(key) ? 'boolean' : 'text';
        sets.push(`${lit(key)}, (${expr})::${cast}`);
      }
    }
    if (!c.acceptPunct(',')) break;
  }
  c.expectEnd();
  const obj = sets.length ? `jsonb_build_object(${sets.join(', ')})` : "'{}'::jsonb";
  const unsetArr = `ARRAY[${unsets.map(lit).join(', ')}]::text[]`;
  return emulated(`CALL _crdb_emulator.configure_zone(${lit(kind)}, ${target}, ${relid}, ${obj}, ${unsetArr})`, tag);
}

// ------------------------------------------------------------------ changefeeds

function createChangefeed(sig: Token[], text: string, ctx: RewriteContext, shape: Shape): Rewrite {
  const c = new TokenCursor(sig, text);
  c.expectWord('CREATE');
  c.expectWord('CHANGEFEED');
  const targets: Array<{ regclass: string; display: string }> = [];
  if (c.acceptWord('FOR')) {
    for (;;) {
      c.acceptWord('TABLE');
      const parts = c.dottedName();
      if (c.isWord('FAMILY')) return errorRewrite('0A000', 'the CockroachDB emulator does not support column family targets', shape);
      const t = tableRegclassText(parts, ctx);
      if ('error' in t) return errorRewrite(t.error.code, t.error.message, shape);
      targets.push(t);
      if (!c.acceptPunct(',')) break;
    }
  } else if (c.isWord('INTO') && sig.some((t) => t.upper === 'AS')) {
    return errorRewrite('0A000', 'the CockroachDB emulator does not support CDC queries (CREATE CHANGEFEED ... AS SELECT)', shape);
  } else throw c.error();
  let sinkUri: string | null = null;
  if (c.acceptWord('INTO')) {
    const v = c.value();
    if (v.kind === 'param') throw c.error();
    sinkUri = v.value;
  }
  const options: RawOption[] = [];
  if (c.acceptWord('WITH')) {
    const paren = c.acceptWord('OPTIONS') !== undefined;
    if (paren) c.expectPunct('(');
    for (;;) {
      const k = c.next();
      let key: string;
      if (k.type === 'ident') key = k.text.toLowerCase();
      else if (k.type === 'string' || k.type === 'dollar') key = stringValue(k);
      else if (k.type === 'qident') key = identValue(k);
      else {
        c.i--;
        throw c.error();
      }
      let value: string | null = null;
      if (c.acceptPunct('=')) {
        const v = c.value();
        if (v.kind === 'param') throw c.error();
        value = v.value;
      }
      options.push({ key, value });
      if (!c.acceptPunct(',')) break;
    }
    if (paren) c.expectPunct(')');
  }
  c.expectEnd();
  if (targets.length === 0) throw c.error();
  try {
    const v = validateChangefeed({ targets: targets.map((t) => t.display), sinkUri, options });
    const spec = {
      user_name: ctx.user,
      description: v.description,
      sink_uri: sinkUri,
      sink_uri_redacted: v.sinkUriRedacted,
      format: v.runtime.format,
      options: v.runtime,
      targets: targets.map((t) => ({ name: t.regclass, display: t.display })),
      cursor: v.cursor,
      initial_scan: v.initialScan,
      full_table_name: v.fullTableName,
      sink_error: v.sinkError,
      notices: v.notices,
    };
    return emulated(`SELECT job_id FROM _crdb_emulator.create_changefeed(${lit(JSON.stringify(spec))}::jsonb)`);
  } catch (err) {
    if (err instanceof ChangefeedError) return errorRewrite(err.code, err.message, shape);
    throw err;
  }
}

// ------------------------------------------------------------------ inline rewrites

const FUNCTIONS = new Set(['VERSION', 'CLUSTER_LOGICAL_TIMESTAMP', 'CURRENT_DATABASE', 'UNIQUE_ROWID']);
const NOT_ALIAS = new Set([
  'WHERE', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS', 'NATURAL', 'ON', 'USING', 'GROUP', 'ORDER', 'LIMIT', 'OFFSET',
  'UNION', 'EXCEPT', 'INTERSECT', 'HAVING', 'WINDOW', 'FETCH', 'FOR', 'RETURNING', 'LATERAL', 'AS',
]);

/** Applies the inline rewrites; returns the original text when nothing applies. */
export function rewriteInline(text: string, tokens: Token[], ctx: RewriteContext, ddl: boolean): string {
  const sig = significant(tokens);
  const isFunctionDdl =
    sig[0]?.upper === 'CREATE' && sig.slice(1, 4).some((t) => t.upper === 'FUNCTION' || t.upper === 'PROCEDURE');
  const tableDdl = ddl && sig[0] !== undefined && ['CREATE', 'ALTER'].includes(sig[0].upper) && sig.slice(1, 6).some((t) => t.upper === 'TABLE');
  const edits: Array<{ start: number; end: number; text: string }> = [];
  let showCount = 0;
  for (let s = 0; s < sig.length; s++) {
    const t = sig[s] as Token;
    const prev = sig[s - 1];
    const next = sig[s + 1];
    // [SHOW ...] and (SHOW ...)
    if (t.type === 'punct' && (t.text === '[' || t.text === '(') && next?.upper === 'SHOW') {
      const open = t.text;
      const close = open === '[' ? ']' : ')';
      let depth = 0;
      let e = s;
      for (; e < sig.length; e++) {
        const x = sig[e] as Token;
        if (x.type === 'punct' && (x.text === '[' || x.text === '(')) depth++;
        if (x.type === 'punct' && (x.text === ']' || x.text === ')')) depth--;
        if (depth === 0) break;
      }
      const closeTok = sig[e];
      if (!closeTok || closeTok.text !== close) continue;
      const inner = sig.slice(s + 1, e);
      let sel: string;
      try {
        const r = showSelect(inner, text, ctx);
        if (!r) continue;
        sel = 'error' in r ? `SELECT _crdb_emulator.raise_fn(${lit(r.error.code)}, ${lit(r.error.message)})` : r.sql;
      } catch (err) {
        if (!(err instanceof SqlSyntaxError)) throw err;
        sel = `SELECT _crdb_emulator.raise_fn('42601', ${lit(err.message)})`;
      }
      let replacement = `(${sel})`;
      if (open === '[') {
        const after = sig[e + 1];
        const aliased = after !== undefined && (after.upper === 'AS' || ((after.type === 'ident' || after.type === 'qident') && !NOT_ALIAS.has(after.upper)));
        if (!aliased) replacement += ` AS _crdb_show_${++showCount}`;
      }
      edits.push({ start: t.start, end: closeTok.end, text: replacement });
      s = e;
      continue;
    }
    // CockroachDB builtins
    if (t.type === 'ident' && FUNCTIONS.has(t.upper) && next?.text === '(' && prev?.text !== '.' && !isFunctionDdl) {
      edits.push({ start: t.start, end: t.end, text: `_crdb_emulator.${t.text.toLowerCase()}` });
      continue;
    }
    // defaultdb.<schema>.<table> / defaultdb.<table>
    if ((t.type === 'ident' || t.type === 'qident') && t.text.replace(/"/g, '').toLowerCase() === 'defaultdb' && next?.text === '.' && prev?.text !== '.') {
      const afterDot = sig[s + 2];
      if (afterDot && (afterDot.type === 'ident' || afterDot.type === 'qident')) {
        edits.push({ start: t.start, end: (next as Token).end, text: '' });
        s++;
        continue;
      }
    }
    // CockroachDB type names in table DDL
    if (tableDdl && t.type === 'ident' && (t.upper === 'STRING' || t.upper === 'BYTES') && prev && (prev.type === 'ident' || prev.type === 'qident' || prev.text === '::')) {
      edits.push({ start: t.start, end: t.end, text: t.upper === 'STRING' ? 'text' : 'bytea' });
    }
  }
  if (edits.length === 0) return text;
  const base = tokens[0]?.start ?? 0;
  let out = '';
  let pos = base;
  for (const e of edits) {
    out += text.slice(pos - base, e.start - base) + e.text;
    pos = e.end;
  }
  out += text.slice(pos - base);
  return out;
}

