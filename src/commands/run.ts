import { Flags } from '@oclif/core';
import { BaseCommand, type CommandOutcome } from '../lib/base-command.js';
import { AppError, ExitCode, renderErrorText } from '../lib/errors.js';
import { askConfirm, type PromptIo } from '../lib/prompt.js';
import type { FailbackConfig } from '../steps/config.js';
import { RUNBOOK } from '../steps/index.js';
import { nextActions } from '../steps/observe.js';
import { dryRunOutcome, renderPlanOverview, renderRunSummary, runJson } from '../steps/present.js';
import { selectSteps } from '../steps/runner.js';
import { canRenderLive, isInteractive, promptIo, sessionLogger, wireAbort } from '../steps/terminal.js';
import { configFlag, loadFailbackConfig, selectionFlags, selectionFrom, settingFlags } from '../steps/settings.js';
import { driveRun, openSession, planRun, refuseAfterTeardown } from '../steps/session.js';
import { renderReport, verifyTables } from '../verify/index.js';

export default class Run extends BaseCommand {
  static override summary = 'Run the failback runbook: plan, confirm, then each step as check -> apply -> verify.';
  static override description = [
    'Asks (in a terminal only) for required values that flags, environment variables and the config file did not give,',
    'shows the plan with each step\'s recorded state, asks to proceed (--yes skips every confirmation), then runs the',
    'selected steps. Progress is saved in the state file after every change: after a crash or Ctrl-C, run the same',
    'command again to resume. Without a terminal, missing values exit 3 with the full list instead of waiting.',
  ].join('\n');
  static override examples = [
    'export MOLT_FAILBACK_CRDB_CONN=\'postgres://root@crdb:26257/defaultdb?sslmode=verify-full\'\nexport MOLT_FAILBACK_TARGET_CONN=\'postgres://migrator:pw@pg:5432/app\'\n<%= config.bin %> run --tables employees,payments,orders',
    '<%= config.bin %> run --dry-run',
    '<%= config.bin %> run --only preflight,enable-rangefeeds --yes',
    '<%= config.bin %> run --from start-replicator --yes --json',
  ];
  static override flags = {
    ...settingFlags(),
    config: configFlag,
    ...selectionFlags,
    yes: Flags.boolean({ char: 'y', description: 'Answer yes to every confirmation (steps that need explicit consent name their flag).', default: false }),
    'dry-run': Flags.boolean({ description: 'Print every SQL statement, HTTP call and process action the selected steps would perform (secrets as ****), and change nothing.', default: false }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { flags } = await this.parse(Run);
    const selection = selectionFrom(flags);
    const selected = selectSteps(RUNBOOK, selection); // a bad selection is a usage error before any prompt
    const interactive = isInteractive();
    const loaded = await loadFailbackConfig(flags, { interactive, promptIo: promptIo(flags.json) });
    const live = canRenderLive() && !flags.json;
    const abort = wireAbort();
    const session = await openSession(loaded, {
      interactive,
      yes: flags.yes,
      dryRun: flags['dry-run'],
      log: sessionLogger(flags, live),
      signal: abort.signal,
    });
    try {
      const state = session.store.read();
      if (flags['dry-run']) {
        const plan = await planRun(session, RUNBOOK, selection);
        return dryRunOutcome(plan, state);
      }
      refuseAfterTeardown(session);
      // The plan goes where the user looks: stdout, or stderr when stdout carries JSON.
      const say = (text: string) => (flags.json ? process.stderr : process.stdout).write(`${text}\n`);
      if (!flags.json || interactive) say(renderPlanOverview(selected, state, session.stateFile));
      if (!flags.yes) {
        if (!interactive) {
          throw new AppError('CONFIRMATION_NEEDED', 'The run needs a confirmation to proceed and there is no terminal to ask.', {
            exitCode: ExitCode.MISSING_INPUT,
            actions: ['Re-run with --yes to proceed without asking, or --dry-run to see what it would do.'],
          });
        }
        if (!(await askConfirm(`Proceed with ${selected.length} step${selected.length === 1 ? '' : 's'}?`, { default: true }, promptIo(flags.json)))) {
          throw new AppError('DECLINED', 'Nothing was changed.', { exitCode: ExitCode.DECLINED, actions: ['Run again when ready; --dry-run shows every action first.'] });
        }
      }
      const { result, messages, state: after } = await driveRun(session, { steps: RUNBOOK, selection, live, json: flags.json, abort });
      const next = nextActions(after);
      if (result.error) process.stderr.write(`${session.scrub(renderErrorText(result.error, flags.debug))}\n`);
      const summary = renderRunSummary(result, messages, next);
      // Once delivery is proven, offer the table comparison (in a terminal, when not answering --yes).
      const proven = result.exitCode === 0 && result.results.some((r) => r.id === 'monitor-changefeed' && (r.outcome === 'verified' || r.outcome === 'adopted'));
      if (proven && interactive && !flags.yes && !flags.json) {
        process.stdout.write(`${summary}\n\n`);
        const verified = await offerVerify(session.config, abort.signal, promptIo(flags.json));
        return { result: runJson(result, messages, next, session.stateFile), human: verified?.text ?? '', exitCode: verified?.exitCode ?? result.exitCode };
      }
      return {
        result: runJson(result, messages, next, session.stateFile),
        human: summary,
        exitCode: result.exitCode,
      };
    } finally {
      await session.close();
      abort.dispose();
    }
  }
}

/** Asks whether to compare every table now; runs molt-failback verify's comparison when the answer is yes. */
async function offerVerify(config: Readonly<FailbackConfig>, signal: AbortSignal, io: PromptIo): Promise<{ text: string; exitCode: number } | undefined> {
  if (!(await askConfirm('Compare every table between CockroachDB and the target now (molt-failback verify)?', { default: true }, io))) return undefined;
  let report;
  try {
    report = await verifyTables({ source: { conn: config.crdb.conn }, target: { conn: config.target.conn, schema: config.target.schema }, tables: config.tables, signal });
  } catch (err) {
    if (signal.aborted) throw new AppError('INTERRUPTED', 'The comparison was interrupted; the failback itself is unaffected.', { exitCode: ExitCode.INTERRUPTED, cause: err });
    throw err;
  }
  return { text: renderReport(report), exitCode: report.verdict === 'equal' ? ExitCode.OK : ExitCode.MISMATCH };
}
