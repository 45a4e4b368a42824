/**
 * grant-target-privileges: the failback user must be able to write back to the original database. The
 * step checks first (TargetPool.checkPrivileges). With --target-admin-conn it grants exactly what is
 * missing (the dialect's GRANT statements, executed on the admin pool) and checks again; without one it
 * prints the SQL for a DBA, waits for confirmation and checks again (under --yes it fails with the SQL in
 * the error's actions, since nobody could have run it). DELETE is included on purpose: failback applies
 * deletes, although the published runbook's grants list only SELECT, INSERT and UPDATE.
 */
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import type { PrivilegeReport, TargetPool, TargetSchema } from '../replicator/types.js';
import { isoNow, sourceTables, targetOf } from './lib/common.js';
import { asOutputs } from './lib/outputs.js';
import { schemaLabel } from './lib/target.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

export const DELETE_NOTE =
  'DELETE is included: failback applies deletes made on CockroachDB, although the published runbook\'s failback grants list only SELECT, INSERT and UPDATE (and FLASHBACK on Oracle).';

interface Snapshot {
  pool: TargetPool;
  schema: TargetSchema;
  user: string;
  report: PrivilegeReport;
}

/** Target table names for the configured tables (bare names; the dialect matches them case-insensitively). */
async function tableNames(ctx: StepContext): Promise<string[]> {
  return (await sourceTables(ctx)).map((t) => t.name);
}

async function snapshot(ctx: StepContext): Promise<Snapshot> {
  const { schema } = targetOf(ctx.config);
  const pool = await ctx.services.target();
  const user = await pool.currentUser();
  const report = await pool.checkPrivileges(schema, user, await tableNames(ctx));
  return { pool, schema, user, report };
}

const missingList = (r: PrivilegeReport): string[] => [
  ...(r.schemaMissing && r.schemaMissing.length > 0 ? [`${r.schemaMissing.join(', ')} on the schema`] : []),
  ...[...r.missing].filter(([, p]) => p.length > 0).map(([t, p]) => `${p.join(', ')} on ${t}`),
];

export const grantTargetPrivileges: Step = {
  id: 'grant-target-privileges',
  title: 'Grant the failback user write privileges on the target',
  description:
    'Checks that the target user may SELECT, INSERT, UPDATE and DELETE the failback tables; grants what is missing with the admin connection, or prints the GRANT statements for a DBA and waits. DELETE is needed because failback applies deletes (the published runbook omits it).',

  async check(ctx): Promise<CheckResult> {
    const s = await snapshot(ctx);
    if (s.report.absentTables.length > 0) {
      return {
        state: 'blocked',
        detail: `these tables do not exist in target schema ${schemaLabel(s.schema)}: ${s.report.absentTables.join(', ')}`,
        actions: ['Create them on the target or correct --tables / --target-schema; molt-failback step preflight lists every mismatch.'],
      };
    }
    const missing = missingList(s.report);
    if (missing.length === 0) return { state: 'satisfied', detail: `${s.user} has SELECT, INSERT, UPDATE and DELETE on every failback table` };
    return { state: 'pending', detail: `${s.user} lacks ${missing.join('; ')}` };
  },

  async apply(ctx): Promise<void> {
    const s = await snapshot(ctx);
    const statements = s.pool.grantStatements(s.schema, s.report);
    if (statements.length === 0) {
      await ctx.record(asOutputs({ user: s.user, method: 'none-needed', statements: [], at: isoNow(ctx) }));
      return;
    }
    ctx.ui.info(DELETE_NOTE);
    const admin = await ctx.services.targetAdmin();
    let method: 'admin' | 'dba';
    if (admin) {
      ctx.ui.info(`Granting with the admin connection:\n${statements.join('\n')}`);
      await admin.execAdmin(statements);
      method = 'admin';
    } else {
      const sql = statements.map((st) => (st.trimEnd().endsWith(';') ? st : `${st};`)).join('\n');
      if (ctx.options.yes) {
        throw new AppError('GRANTS_NEEDED', `${s.user} lacks ${missingList(s.report).join('; ')}, and no admin connection was given to grant it. ${DELETE_NOTE}`, {
          exitCode: ExitCode.FAILED,
          actions: [`Ask a DBA to run on the target:\n${sql}`, 'Or give --target-admin-conn so molt-failback can grant it, then run again.'],
        });
      }
      ctx.ui.info(`No admin connection (--target-admin-conn) was given. Ask a DBA to run this SQL on the target as an administrator:\n${sql}`);
      const done = await ctx.ui.confirm('Have these statements been run on the target?', { default: false });
      if (!done) {
        throw new AppError('DECLINED', 'The GRANT statements have not been run.', {
          exitCode: ExitCode.DECLINED,
          actions: [`Run on the target:\n${sql}`, 'Then run molt-failback again.'],
        });
      }
      method = 'dba';
    }
    const after = await snapshot(ctx);
    const still = missingList(after.report);
    if (still.length > 0) {
      throw new AppError('GRANTS_INCOMPLETE', `After granting, ${after.user} still lacks ${still.join('; ')}.`, {
        actions: [`Run on the target as an administrator:\n${after.pool.grantStatements(after.schema, after.report).join(';\n')};`],
      });
    }
    await ctx.record(asOutputs({ user: s.user, method, statements, at: isoNow(ctx) }));
  },

  async verify(ctx): Promise<VerifyResult> {
    const s = await snapshot(ctx);
    const missing = missingList(s.report);
    if (missing.length > 0) return { ok: false, detail: `${s.user} still lacks ${missing.join('; ')}`, actions: [`Grant: ${s.pool.grantStatements(s.schema, s.report).join('; ')}`] };
    return { ok: true, detail: `${s.user} has SELECT, INSERT, UPDATE and DELETE on every failback table` };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const target = `target ${redactConn(ctx.config.target.conn)}`;
    const actions: PlannedAction[] = [{ kind: 'sql', target, text: 'privilege check for SELECT, INSERT, UPDATE, DELETE on each table (read-only)' }];
    let statements: string[] | undefined;
    try {
      const s = await snapshot(ctx);
      statements = s.pool.grantStatements(s.schema, s.report);
    } catch {
      // Unreachable target in a dry run: describe the action without the exact SQL.
    }
    const where = ctx.config.target.adminConn ? `target admin ${redactConn(ctx.config.target.adminConn)}` : 'a DBA (printed, then confirmed)';
    if (statements === undefined) actions.push({ kind: 'sql', target: where, text: 'GRANT the missing privileges (the target could not be read to list them)', when: 'if privileges are missing' });
    else if (statements.length === 0) actions.push({ kind: 'sql', target: where, text: '(nothing to grant)' });
    else for (const st of statements) actions.push({ kind: 'sql', target: where, text: st });
    return actions;
  },
};
