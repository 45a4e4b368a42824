/**
 * preflight: proves the three databases are the right ones and fit together before anything changes.
 * It connects to CockroachDB (refusing anything else), the staging database and the target; checks that
 * every table exists on both sides with the same primary-key columns and compatible columns; records
 * CockroachDB's key order (start-replicator passes it on when it differs from the target's); reports
 * which privileges grant-target-privileges will add; and probes the forward replicator's metrics
 * endpoint when one is configured. Every problem names the table or column and says what to fix.
 * Read-only everywhere: apply only records the findings.
 */
import { createHash } from 'node:crypto';
import { parseConn, redactConn } from '../lib/conn.js';
import { ExitCode, toAppError } from '../lib/errors.js';
import type { TableInfo } from '../replicator/types.js';
import { stagingConnOf, type StepId } from './config.js';
import { compatible, sourceClass } from './lib/columns.js';
import { resolveSourceTables, targetOf, isoNow } from './lib/common.js';
import { describeSourceTable, isCockroachVersion, readClusterSetting, serverVersion, shortVersion, truthy, type SourceTableInfo } from './lib/crdb.js';
import { checkExtraFlags } from './lib/engine.js';
import { inspectStaging } from './lib/engine-api.js';
import { appliedBySchema, scrape } from './lib/metrics.js';
import { asOutputs, DrainOutputs, outputsOf, PreflightOutputs } from './lib/outputs.js';
import { schemaLabel } from './lib/target.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

const ID: StepId = 'preflight';

interface Problem {
  message: string;
  fix: string;
}

interface Report {
  problems: Problem[];
  /** A database could not be reached (the step then exits 4, not 1). */
  unreachable?: boolean;
  warnings: string[];
  notes: string[];
  facts?: Omit<PreflightOutputs, 'checkedAt' | 'digest'>;
}

const reports = new WeakMap<StepContext, Report>();

function errText(err: unknown): string {
  return (err as Error).message ?? String(err);
}

/** Compares one table on both sides; pushes problems and warnings naming the table and column. */
function compareTable(src: SourceTableInfo, dst: TableInfo, report: Report): void {
  const t = src.key;
  const visible = src.columns.filter((c) => !c.hidden);
  if (src.primaryKey.length === 0 || src.primaryKey.every((k) => src.columns.find((c) => c.name === k)?.hidden)) {
    report.problems.push({ message: `${t} has no primary key on CockroachDB (only the hidden rowid).`, fix: `Add a primary key to ${t} on CockroachDB that matches the target's (${dst.primaryKey.join(', ')}).` });
    return;
  }
  const lc = (xs: readonly string[]) => xs.map((x) => x.toLowerCase());
  const srcPk = lc(src.primaryKey);
  const dstPk = lc(dst.primaryKey);
  if (srcPk.length !== dstPk.length || !srcPk.every((k) => dstPk.includes(k))) {
    report.problems.push({
      message: `${t}: primary key differs: CockroachDB (${src.primaryKey.join(', ')}) vs target ${dst.name} (${dst.primaryKey.join(', ') || 'none'}).`,
      fix: `Give ${t} the same primary-key columns on both sides; deletes and upserts are matched by key.`,
    });
  }
  const dstCols = new Map(dst.columns.map((c) => [c.name.toLowerCase(), c]));
  const srcNames = new Set(visible.map((c) => c.name.toLowerCase()));
  for (const c of visible) {
    if (c.generated) continue;
    const d = dstCols.get(c.name.toLowerCase());
    if (!d) {
      report.problems.push({ message: `${t}.${c.name} exists on CockroachDB but not in target table ${dst.name}.`, fix: `Add column ${c.name} to ${dst.name} on the target, or drop it on CockroachDB.` });
      continue;
    }
    if (d.generated) {
      report.warnings.push(`${t}.${c.name} is a generated column on the target: its values from CockroachDB are not written.`);
      continue;
    }
    const v = compatible(sourceClass(c.dataType), d.class);
    if (v.level === 'fail') {
      report.problems.push({ message: `${t}.${c.name}: CockroachDB type ${c.dataType} does not fit target type ${d.type} (${v.reason}).`, fix: `Change the type of ${dst.name}.${d.name} on the target (or of ${c.name} on CockroachDB) so values can be written.` });
    } else if (v.level === 'warn') {
      report.warnings.push(`${t}.${c.name}: ${c.dataType} -> ${d.type}: ${v.reason}.`);
    }
    if (c.nullable && !d.nullable) report.warnings.push(`${t}.${c.name} allows NULL on CockroachDB but is NOT NULL on the target: a NULL would fail the apply.`);
  }
  for (const d of dst.columns) {
    if (srcNames.has(d.name.toLowerCase()) || d.generated || d.nullable || d.hasDefault) continue;
    report.problems.push({ message: `Target column ${dst.name}.${d.name} is NOT NULL without a default and does not exist on CockroachDB (${t}).`, fix: `Give ${dst.name}.${d.name} a default or allow NULL on the target, or add the column on CockroachDB.` });
  }
}

async function probe(ctx: StepContext): Promise<Report> {
  const cached = reports.get(ctx);
  if (cached) return cached;
  const { config, services } = ctx;
  const report: Report = { problems: [], warnings: [], notes: [] };
  const fail = (message: string, fix: string) => report.problems.push({ message, fix });
  /** A failed connection or query: unreachable databases are flagged for the exit code. */
  const failOn = (err: unknown, what: string, fix: string) => {
    const e = toAppError(err);
    if (e.exitCode === ExitCode.UNREACHABLE || e.code === 'STAGING_UNREACHABLE') report.unreachable = true;
    fail(`${what}: ${errText(err)}`, fix);
  };

  const extra = checkExtraFlags(config.replicator.extraFlags);
  for (const p of extra.problems) fail(p, 'Remove it from --replicator-flags.');
  report.warnings.push(...extra.warnings);

  // 1. CockroachDB
  let crdbVersion = '';
  let sourceInfos: SourceTableInfo[] = [];
  try {
    const crdb = await services.crdb();
    crdbVersion = await serverVersion(crdb);
    if (!isCockroachVersion(crdbVersion)) {
      fail(`crdb.conn (${redactConn(config.crdb.conn)}) answers as "${shortVersion(crdbVersion)}", which is not CockroachDB.`, 'Point --crdb-conn at the CockroachDB cluster you fail back from; the original database goes in --target-conn.');
    } else {
      report.notes.push(`CockroachDB: ${shortVersion(crdbVersion)}`);
      try {
        const tables = await resolveSourceTables(crdb, config);
        sourceInfos = await Promise.all(tables.map((t) => describeSourceTable(crdb, t)));
      } catch (err) {
        fail(errText(err), 'Check --tables and the database named in --crdb-conn.');
      }
      const rf = await readClusterSetting(crdb, 'kv.rangefeed.enabled');
      if (rf.ok && !truthy(rf.value)) report.notes.push('kv.rangefeed.enabled is false: enable-rangefeeds will turn it on.');
    }
  } catch (err) {
    failOn(err, 'CockroachDB', 'Check --crdb-conn: host, port, user, password (percent-encoded) and sslmode.');
  }

  // 2. Staging (the engine keeps checkpoints and buffered mutations there)
  let stagingVersion = '';
  try {
    stagingVersion = await serverVersion(await services.staging());
    const staged = await inspectStaging(stagingConnOf(config), config.staging.schema);
    if (!staged.exists && !config.staging.createSchema) {
      fail(`Staging schema ${config.staging.schema} does not exist (or lacks the engine's tables), and creating it is turned off.`, 'Create it by starting with --staging-create-schema, or point --staging-schema at the existing db.schema.');
    }
    const pending = staged.targets.reduce((a, t) => a + t.pendingTotal, 0);
    report.notes.push(
      `Staging: ${shortVersion(stagingVersion)}, schema ${config.staging.schema} ${staged.exists ? `exists${pending > 0 ? ` with ${pending} staged mutation(s) not yet applied` : ''}` : 'will be created by the engine'}`,
    );
  } catch (err) {
    failOn(err, 'Staging database', 'Check --staging-conn (or --crdb-conn when staging lives on CockroachDB).');
  }

  // 3. Target
  let targetVersion = '';
  let targetUser = '';
  let facts: Report['facts'];
  try {
    const { dialect, schema } = targetOf(config);
    const target = await services.target();
    targetVersion = await target.version();
    targetUser = await target.currentUser();
    report.notes.push(`Target: ${dialect.name}, ${targetVersion}, schema ${schemaLabel(schema)}, user ${targetUser}`);
    const info = await target.introspect(schema);
    const sourceKeys: Record<string, string[]> = {};
    const sourceKeyColumns: Record<string, string[]> = {};
    let missingPrivileges: Record<string, string[]> = {};
    if (!info) {
      fail(`Target schema ${schemaLabel(schema)} does not exist (as user ${targetUser}).`, `Create it, or set --target-schema to the schema holding the original tables (${dialect.schemaPathSegments === 2 ? 'db.schema' : dialect.name === 'oracle' ? 'SCHEMA' : 'db'}).`);
    } else {
      const targetNames: string[] = [];
      for (const src of sourceInfos) {
        sourceKeys[src.key] = src.primaryKey;
        const dst = info.tables.get(src.name.toLowerCase());
        if (!dst) {
          fail(`Table ${src.name} does not exist in target schema ${schemaLabel(schema)}.`, `Create ${src.name} on the target (it must match ${src.key} on CockroachDB), or correct --tables / --target-schema.`);
          continue;
        }
        targetNames.push(dst.name);
        compareTable(src, dst, report);
        const same = src.primaryKey.length === dst.primaryKey.length && src.primaryKey.every((k, i) => k.toLowerCase() === dst.primaryKey[i]?.toLowerCase());
        if (!same) sourceKeyColumns[src.name] = src.primaryKey;
      }
      if (targetNames.length > 0) {
        const priv = await target.checkPrivileges(schema, targetUser, targetNames);
        missingPrivileges = Object.fromEntries([...priv.missing].filter(([, p]) => p.length > 0).map(([t, p]) => [t, [...p]]));
        if (priv.schemaMissing && priv.schemaMissing.length > 0) missingPrivileges[`(schema ${schemaLabel(schema)})`] = [...priv.schemaMissing];
        const n = Object.keys(missingPrivileges).length;
        if (n > 0) {
          report.notes.push(
            `${targetUser} lacks ${Object.entries(missingPrivileges)
              .map(([t, p]) => `${p.join('/')} on ${t}`)
              .join('; ')}: grant-target-privileges will ${config.target.adminConn ? 'grant it with --target-admin-conn' : 'print the GRANT statements for a DBA'}.`,
          );
        }
      }
    }
    facts = {
      crdbVersion: shortVersion(crdbVersion),
      stagingVersion: shortVersion(stagingVersion),
      targetVersion,
      targetDialect: dialect.name,
      targetSchema: [...schema.parts],
      targetUser,
      tables: sourceInfos.map((s) => s.key),
      sourceKeys,
      sourceKeyColumns,
      missingPrivileges,
      warnings: [],
    };
  } catch (err) {
    failOn(err, 'Target', 'Check --target-conn (and --target-schema).');
  }

  // 4. The webhook host must be reachable from CockroachDB's nodes, not only from here.
  try {
    const crdbHost = parseConn(config.crdb.conn).host;
    const local = (h: string) => ['localhost', '127.0.0.1', '::1'].includes(h.toLowerCase());
    if (local(config.replicator.host) && !local(crdbHost)) {
      report.warnings.push(`The webhook host is ${config.replicator.host}, but CockroachDB runs on ${crdbHost}: its nodes will not reach this machine at ${config.replicator.host}. Set --webhook-host to a name or address they can reach.`);
    }
  } catch {
    // crdb.conn was validated by the config loader; nothing more to say here.
  }

  // 5. The forward replicator's metrics endpoint (drain-forward polls it).
  if (config.forward.metricsUrl) {
    const drained = outputsOf(ctx, 'drain-forward', DrainOutputs) !== undefined;
    try {
      const { samples } = await scrape(services.http, config.forward.metricsUrl);
      const schemas = [...appliedBySchema(samples).keys()];
      report.notes.push(`Forward replicator metrics answer (${schemas.length ? `schemas ${schemas.join(', ')}` : 'no apply counters yet'}).`);
    } catch (err) {
      if (drained) report.notes.push('Forward replicator metrics no longer answer (it was drained and stopped earlier).');
      else fail(`Forward replicator metrics: ${errText(err)}.`, 'Fix --forward-metrics-url (http://host:port/_/varz of the running forward replicator), or leave it out to confirm the drain from its logs.');
    }
  } else {
    report.notes.push('No forward replicator metrics URL: drain-forward will ask you to confirm the drain from its logs.');
  }

  if (facts) facts.warnings = [...report.warnings];
  report.facts = report.problems.length === 0 ? facts : undefined;
  reports.set(ctx, report);
  return report;
}

const digestOf = (facts: NonNullable<Report['facts']>): string => createHash('sha256').update(JSON.stringify(facts)).digest('hex').slice(0, 16);

function summary(report: Report): string {
  const w = report.warnings.length ? `; ${report.warnings.length} warning(s)` : '';
  return `${report.facts?.tables.length ?? 0} table(s) match on both sides${w}`;
}

export const preflight: Step = {
  id: ID,
  title: 'Preflight checks',
  description:
    'Connects to CockroachDB, the staging database and the target; checks versions, that every table exists on both sides with the same primary key and compatible columns, the target user\'s privileges, and the forward replicator\'s metrics endpoint. Changes nothing.',

  async check(ctx): Promise<CheckResult> {
    const report = await probe(ctx);
    if (report.problems.length > 0) {
      return {
        state: 'blocked',
        detail: `${report.problems.length} problem(s): ${report.problems.map((p) => p.message).join(' ')}`,
        actions: [...new Set(report.problems.map((p) => p.fix))],
        ...(report.unreachable ? { exitCode: ExitCode.UNREACHABLE } : {}),
      };
    }
    const recorded = outputsOf(ctx, ID, PreflightOutputs);
    const facts = report.facts as NonNullable<Report['facts']>;
    if (recorded && recorded.digest === digestOf(facts)) return { state: 'satisfied', detail: summary(report) };
    return { state: 'pending', detail: recorded ? 'the databases changed since the last preflight' : 'not checked yet' };
  },

  async apply(ctx): Promise<void> {
    const report = await probe(ctx);
    if (report.problems.length > 0 || !report.facts) throw new Error('preflight found problems; they are listed by its check');
    for (const n of report.notes) ctx.ui.info(n);
    for (const w of report.warnings) ctx.ui.warn(w);
    await ctx.record(asOutputs({ ...report.facts, checkedAt: isoNow(ctx), digest: digestOf(report.facts) }));
  },

  async verify(ctx): Promise<VerifyResult> {
    const report = await probe(ctx);
    const recorded = outputsOf(ctx, ID, PreflightOutputs);
    if (report.problems.length > 0 || !recorded) return { ok: false, detail: 'preflight findings were not recorded', actions: ['Run molt-failback step preflight.'] };
    return { ok: true, detail: summary(report) };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const { config } = ctx;
    const actions: PlannedAction[] = [
      { kind: 'sql', target: `CockroachDB ${redactConn(config.crdb.conn)}`, text: 'SELECT version(); information_schema.tables/columns/key_column_usage for each table; SHOW CLUSTER SETTING kv.rangefeed.enabled' },
      { kind: 'sql', target: `staging ${redactConn(stagingConnOf(config))}`, text: 'SELECT version()' },
      { kind: 'sql', target: `target ${redactConn(config.target.conn)}`, text: 'version, current user, catalog introspection of the target schema, privilege check (read-only)' },
    ];
    if (config.forward.metricsUrl) actions.push({ kind: 'http', target: config.forward.metricsUrl, text: `GET ${config.forward.metricsUrl}` });
    return actions;
  },
};
