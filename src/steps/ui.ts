/**
 * StepUi implementations: how a running step talks to the user. Progress and messages go to the
 * runner's listener (a renderer); confirmations depend on the mode:
 *  - interactive: ask in the terminal (the live task list is suspended while the prompt is up);
 *  - --yes: consent, except where a step needs explicit consent through a named flag;
 *  - neither: refuse with MISSING_INPUT (exit 3) instead of hanging or assuming yes.
 * It owns no rendering and no state.
 */
import { AppError, ExitCode } from '../lib/errors.js';
import { askConfirm, isPromptExit, type PromptIo } from '../lib/prompt.js';
import type { RunnerListener } from './runner.js';
import type { Step, StepUi } from './step.js';

export type UiMode = 'interactive' | 'yes' | 'non-interactive';

export function uiMode(options: { yes: boolean; interactive: boolean }): UiMode {
  return options.yes ? 'yes' : options.interactive ? 'interactive' : 'non-interactive';
}

export interface UiOptions {
  mode: UiMode;
  listener: RunnerListener;
  /** Stops live rendering while a prompt is up; returns the function that resumes it. */
  suspend?: () => () => void;
  promptIo?: PromptIo;
  /** Called when the user closes a prompt with Ctrl-C (inquirer eats the SIGINT in raw mode). */
  onPromptAbort?: () => void;
  /** The confirm prompt itself (tests replace it). */
  ask?: (message: string, options: { default?: boolean }, io: PromptIo) => Promise<boolean>;
}

export function stepUiFactory(options: UiOptions): (step: Step) => StepUi {
  const ask = options.ask ?? askConfirm;
  return (step: Step): StepUi => ({
    progress: (message) => options.listener.stepProgress?.(step, message),
    info: (message) => options.listener.stepInfo?.(step, message, 'info'),
    warn: (message) => options.listener.stepInfo?.(step, message, 'warn'),
    async confirm(message, confirmOptions = {}) {
      if (options.mode === 'yes') {
        if (confirmOptions.needsExplicitConsent) {
          throw new AppError('CONSENT_REQUIRED', `${step.title}: "${message}" is not covered by --yes.`, {
            exitCode: ExitCode.DECLINED,
            actions: [`Give explicit consent with ${confirmOptions.needsExplicitConsent}, or run without --yes in a terminal to be asked.`],
          });
        }
        options.listener.stepInfo?.(step, `${message} yes (--yes)`, 'info');
        return true;
      }
      if (options.mode === 'non-interactive') {
        throw new AppError('CONFIRMATION_NEEDED', `${step.title} needs a confirmation and there is no terminal to ask: ${message}`, {
          exitCode: ExitCode.MISSING_INPUT,
          actions: [
            confirmOptions.needsExplicitConsent
              ? `Give explicit consent with ${confirmOptions.needsExplicitConsent}, or run in a terminal.`
              : 'Re-run with --yes to confirm, or run in a terminal to be asked.',
          ],
        });
      }
      const resume = options.suspend?.();
      try {
        return await ask(message, { default: confirmOptions.default }, options.promptIo ?? {});
      } catch (err) {
        if (isPromptExit(err)) {
          options.onPromptAbort?.();
          const abort = new Error('The prompt was closed.');
          abort.name = 'AbortError';
          throw abort;
        }
        throw err;
      } finally {
        resume?.();
      }
    },
  });
}
