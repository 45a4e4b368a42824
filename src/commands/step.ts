import { Args, Flags } from '@oclif/core';
import { BaseCommand, type CommandOutcome } from '../lib/base-command.js';
import { AppError, ExitCode, renderErrorText } from '../lib/errors.js';
import { STEP_IDS, type StepId } from '../steps/config.js';
import { RUNBOOK } from '../steps/index.js';
import { nextActions } from '../steps/observe.js';
import { dryRunOutcome, renderRunSummary, renderStepList, runJson } from '../steps/present.js';
import { canRenderLive, promptIo, isInteractive, sessionLogger, wireAbort } from '../steps/terminal.js';
import { configFlag, loadFailbackConfig, settingFlags } from '../steps/settings.js';
import { driveRun, openSession, planRun } from '../steps/session.js';

export default class StepCommand extends BaseCommand {
  static override summary = 'Run one runbook step (check, then apply if needed, then verify), or list the steps.';
  static override description = [
    'The same runner as `run --only <name>`: the step re-checks the real systems, changes only what is missing,',
    'proves the result, and records it in the state file. Naming the step is the consent to run it; confirmations',
    'a step needs on its own are still asked (or given with --yes). `step --list` needs no configuration.',
  ].join('\n');
  static override examples = ['<%= config.bin %> step --list', '<%= config.bin %> step preflight', '<%= config.bin %> step enable-rangefeeds --dry-run', '<%= config.bin %> step fetch-cursor --yes --json'];
  static override args = {
    name: Args.string({ description: 'Step id (see --list).', required: false, options: [...STEP_IDS] }),
  };
  static override flags = {
    ...settingFlags(),
    config: configFlag,
    list: Flags.boolean({ description: 'List the step ids, titles and descriptions, in runbook order.', default: false }),
    yes: Flags.boolean({ char: 'y', description: 'Answer yes to the step\'s confirmations.', default: false }),
    'dry-run': Flags.boolean({ description: 'Print the actions the step would perform and change nothing.', default: false }),
  };

  protected async execute(): Promise<CommandOutcome> {
    const { args, flags } = await this.parse(StepCommand);
    if (flags.list) {
      return {
        result: { steps: RUNBOOK.map((s, i) => ({ position: i + 1, id: s.id, title: s.title, description: s.description })) },
        human: renderStepList(RUNBOOK),
      };
    }
    if (!args.name) {
      throw new AppError('STEP_REQUIRED', 'Name the step to run.', { exitCode: ExitCode.USAGE, actions: ['molt-failback step --list shows the step ids.'] });
    }
    const selection = { only: [args.name as StepId] };
    const interactive = isInteractive();
    const loaded = await loadFailbackConfig(flags, { interactive, promptIo: promptIo(flags.json) });
    const live = canRenderLive() && !flags.json;
    const abort = wireAbort();
    const session = await openSession(loaded, { interactive, yes: flags.yes, dryRun: flags['dry-run'], log: sessionLogger(flags, live), signal: abort.signal });
    try {
      if (flags['dry-run']) {
        const state = session.store.read();
        const plan = await planRun(session, RUNBOOK, selection);
        return dryRunOutcome(plan, state);
      }
      const { result, messages, state } = await driveRun(session, { steps: RUNBOOK, selection, live, json: flags.json, abort });
      const next = nextActions(state);
      if (result.error) process.stderr.write(`${session.scrub(renderErrorText(result.error, flags.debug))}\n`);
      return { result: runJson(result, messages, next, session.stateFile), human: renderRunSummary(result, messages, next), exitCode: result.exitCode };
    } finally {
      await session.close();
      abort.dispose();
    }
  }
}
