/**
 * The only module that imports @inquirer/prompts. It refuses to prompt without a terminal: inquirer
 * would otherwise throw at EOF as an unhandled rejection and the process could exit 0.
 */
import { confirm, input, password, select } from '@inquirer/prompts';
import { AppError, ExitCode } from './errors.js';

export interface PromptIo {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

function ensureTerminal(io: PromptIo): void {
  if (!io.input && !process.stdin.isTTY) {
    throw new AppError('NO_TERMINAL', 'A value is needed but there is no terminal to ask for it.', {
      exitCode: ExitCode.MISSING_INPUT,
      actions: ['Give the value with a flag, an environment variable or the config file.'],
    });
  }
}

/** Ctrl-C at a prompt (ExitPromptError: raw mode makes it a keypress, not SIGINT) or an aborted prompt (AbortPromptError). */
export function isPromptExit(err: unknown): boolean {
  return err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError');
}

const ctx = (io: PromptIo) => (io.input || io.output ? { input: io.input as NodeJS.ReadableStream, output: io.output as NodeJS.WritableStream } : undefined);

export async function askSecret(message: string, io: PromptIo = {}): Promise<string> {
  ensureTerminal(io);
  return password({ message, mask: '*' }, ctx(io));
}

export async function askText(message: string, options: { default?: string; validate?: (v: string) => true | string } = {}, io: PromptIo = {}): Promise<string> {
  ensureTerminal(io);
  return input({ message, default: options.default, validate: options.validate }, ctx(io));
}

export async function askConfirm(message: string, options: { default?: boolean } = {}, io: PromptIo = {}): Promise<boolean> {
  ensureTerminal(io);
  return confirm({ message, default: options.default ?? false }, ctx(io));
}

export async function askChoice<T extends string>(message: string, choices: readonly T[], io: PromptIo = {}): Promise<T> {
  ensureTerminal(io);
  return select({ message, choices: choices.map((value) => ({ value })) }, ctx(io));
}
