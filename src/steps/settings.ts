/**
 * The wizard's settings as commands see them: oclif flags generated from FAILBACK_SETTINGS, step
 * selection flags, and config loading (flags > env > config file > defaults) with prompts for what is
 * still missing, only in a terminal. Without one, every missing value is listed at once.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Flags, type Interfaces } from '@oclif/core';
import { AppError, ExitCode } from '../lib/errors.js';
import {
  applyAnswer,
  collectSettings,
  environment,
  finalizeConfig,
  missingInputError,
  parseDuration,
  setPath,
  coveredByMissing,
  type CollectedSettings,
  type SettingDef,
  type SettingSource,
} from '../lib/config.js';
import { askChoice, askConfirm, askSecret, askText, type PromptIo } from '../lib/prompt.js';
import { DEFAULT_STATE_FILE, FAILBACK_SETTINGS, FailbackConfigSchema, STEP_IDS, type FailbackConfig, type StepId } from './config.js';
import type { Selection } from './runner.js';
import { promptIo } from './terminal.js';

export const CONFIG_ENV = 'MOLT_FAILBACK_CONFIG';
/** Read when present in the working directory and neither --config nor MOLT_FAILBACK_CONFIG is given. */
export const DEFAULT_CONFIG_FILE = 'molt-failback.json';


/**
 * Settings without a flag in the table (tuning knobs) still get one, named after their key, so every
 * setting can be given on the command line; they are grouped under ADVANCED in --help.
 */
function derivedFlag(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/\./g, '-')
    .toLowerCase();
}

/** FAILBACK_SETTINGS with a flag name on every entry: the table the commands load config with. */
export const SETTING_DEFS: readonly SettingDef[] = Object.freeze(FAILBACK_SETTINGS.map((d) => Object.freeze({ ...d, flag: d.flag ?? derivedFlag(d.key) })));

function flagDescription(def: SettingDef): string {
  const parts = [`${def.description}.`];
  if (def.env) parts.push(`Env: ${def.env}.`);
  parts.push(`Config file key: "${def.key}".`);
  if (def.default !== undefined && !(Array.isArray(def.default) && def.default.length === 0)) {
    parts.push(`Default: ${typeof def.default === 'string' ? def.default : JSON.stringify(def.default)}.`);
  }
  if (def.secret) parts.push(`Secret: better given through ${def.env ?? 'the config file'}, since flags end up in shell history and process lists.`);
  return parts.join(' ');
}

function helpGroup(def: SettingDef): string {
  if (def.required) return 'REQUIRED SETTINGS';
  return FAILBACK_SETTINGS.find((d) => d.key === def.key)?.flag ? 'SETTINGS' : 'ADVANCED SETTINGS';
}

/**
 * oclif flags for every setting. No flag carries a default: defaults live in the settings table so
 * that env vars and the config file can still win over them (flags > env > file > defaults).
 */
export function settingFlags(): Interfaces.FlagInput {
  const out: Interfaces.FlagInput = {};
  for (const def of SETTING_DEFS) {
    const name = def.flag as string;
    const common = { description: flagDescription(def), helpGroup: helpGroup(def) };
    if (def.kind === 'boolean') out[name] = Flags.boolean({ ...common, allowNo: true });
    else if (def.kind === 'list') out[name] = Flags.string({ ...common, multiple: true, helpValue: 'a,b' });
    else out[name] = Flags.string({ ...common, helpValue: def.secret ? 'URL' : def.kind === 'number' ? 'N' : 'VALUE' });
  }
  return out;
}

/** --config: shared by every command that reads settings. */
export const configFlag = Flags.string({
  description: `JSON config file holding settings by key (e.g. {"crdb": {"conn": "..."}, "tables": ["t1"]}). Env: ${CONFIG_ENV}. Default: ./${DEFAULT_CONFIG_FILE} when it exists.`,
  helpValue: 'FILE',
});

/** Step selection flags for `run`. */
export const selectionFlags = {
  from: Flags.string({ description: 'Start at this step (see `step --list`).', options: [...STEP_IDS], helpValue: 'STEP' }),
  to: Flags.string({ description: 'Stop after this step.', options: [...STEP_IDS], helpValue: 'STEP' }),
  only: Flags.string({ description: 'Run only these steps (repeatable or comma-separated).', multiple: true, helpValue: 'STEP[,STEP]' }),
};

/** A duration flag's value in ms; a bad one is a usage error (with `code`) before any prompt. */
export function durationFlag(flag: string, text: string, code = 'CONFIG_INVALID'): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new AppError(code, `--${flag}: ${(err as Error).message}.`, { exitCode: ExitCode.USAGE });
  }
}

/** Turns --only values ("a,b" and repeated flags) into a Selection; unknown ids fail in selectSteps. */
export function selectionFrom(flags: { from?: string; to?: string; only?: string[] }): Selection {
  const only = (flags.only ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
  return {
    from: flags.from as StepId | undefined,
    to: flags.to as StepId | undefined,
    only: only.length > 0 ? (only as StepId[]) : undefined,
  };
}

type ParsedFlags = Record<string, unknown>;

/** The config file to read: --config, then MOLT_FAILBACK_CONFIG (both must exist), then ./molt-failback.json if present. */
export function configFileFrom(flags: ParsedFlags, env: Readonly<Record<string, string | undefined>>): { file?: string; required: boolean } {
  const given = (flags.config as string | undefined) ?? (env[CONFIG_ENV] || undefined);
  if (given) return { file: given, required: true };
  return existsSync(resolve(DEFAULT_CONFIG_FILE)) ? { file: DEFAULT_CONFIG_FILE, required: false } : { required: false };
}

/** Flag values as collectSettings expects them: lists split on commas, numbers and JSON parsed when they parse. */
function normalizeFlags(flags: ParsedFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of SETTING_DEFS) {
    const v = flags[def.flag as string];
    if (v === undefined) continue;
    switch (def.kind) {
      case 'list':
        out[def.flag as string] = (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
        break;
      case 'number': {
        // An unparseable number is passed on as text so zod reports it, naming the flag.
        const n = Number(v);
        out[def.flag as string] = typeof v === 'string' && v.trim() !== '' && Number.isFinite(n) ? n : v;
        break;
      }
      case 'json':
        try {
          out[def.flag as string] = JSON.parse(String(v));
        } catch {
          out[def.flag as string] = v;
        }
        break;
      default:
        out[def.flag as string] = v;
    }
  }
  return out;
}

/** Reads flags, env and the config file (no prompts, no validation). */
export function collectFailbackSettings(flags: ParsedFlags, env = environment()): CollectedSettings {
  const { file, required } = configFileFrom(flags, env);
  return collectSettings(SETTING_DEFS, { flags: normalizeFlags(flags), env, file, fileRequired: required });
}

/** The state file path alone (for `status` and `teardown`, which read the state before the rest of the config). */
export function stateFileOf(collected: CollectedSettings): string {
  const v = collected.values.stateFile;
  return resolve(typeof v === 'string' && v !== '' ? v : DEFAULT_STATE_FILE);
}

/** Why a single answer is invalid (zod's message for that key only), or undefined when it is fine. */
function problemWith(collected: CollectedSettings, def: SettingDef, value: unknown): string | undefined {
  const values = structuredClone(collected.values);
  setPath(values, def.key, value);
  const parsed = FailbackConfigSchema.safeParse(values);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues.find((i) => {
    const key = i.path.map(String).join('.');
    return key === def.key || key.startsWith(`${def.key}.`);
  });
  return issue?.message;
}

function answerValue(def: SettingDef, raw: string | boolean): unknown {
  if (typeof raw === 'boolean') return raw;
  if (def.kind === 'list') return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (def.kind === 'number') return Number(raw);
  return raw.trim();
}

async function ask(def: SettingDef, io: PromptIo): Promise<string | boolean> {
  const message = def.prompt?.message ?? def.description;
  switch (def.prompt?.kind ?? (def.secret ? 'password' : 'input')) {
    case 'password':
      return askSecret(message, io);
    case 'confirm':
      return askConfirm(message, {}, io);
    case 'select':
      return askChoice(message, def.prompt?.choices ?? [], io);
    default:
      return askText(message, {}, io);
  }
}

const MAX_ATTEMPTS = 3;

/**
 * Asks for every missing required value, re-asking (up to three times) when an answer does not
 * validate. The problem is shown without the answer, which may be a secret.
 */
export async function promptForMissing(collected: CollectedSettings, io: PromptIo, say: (line: string) => void): Promise<void> {
  for (const def of [...collected.missing]) {
    for (let attempt = 1; ; attempt++) {
      const value = answerValue(def, await ask(def, io));
      const problem = problemWith(collected, def, value);
      if (!problem) {
        applyAnswer(collected, def, value);
        break;
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new AppError('CONFIG_INVALID', `${def.key}: ${problem}`, {
          exitCode: ExitCode.USAGE,
          actions: [`Give it with --${def.flag}${def.env ? ` or ${def.env}` : ''} instead.`],
        });
      }
      say(`  ${def.key}: ${problem} Try again.`);
    }
  }
}

function hasOtherIssues(collected: CollectedSettings): boolean {
  const parsed = FailbackConfigSchema.safeParse(collected.values);
  if (parsed.success) return false;
  return parsed.error.issues.some((i) => !coveredByMissing(collected.missing, i.path.map(String).join('.')));
}

export interface LoadedConfig {
  config: Readonly<FailbackConfig>;
  sources: Record<string, SettingSource>;
}

export interface LoadOptions {
  /** Prompts are allowed (a terminal is attached). */
  interactive: boolean;
  promptIo?: PromptIo;
  /** Where a re-ask explanation goes (stderr by default). */
  say?: (line: string) => void;
}

/**
 * Loads the wizard config: flags > env > config file > defaults, then prompts for what is still
 * missing when interactive. Without a terminal every missing value is listed at once (exit 3),
 * together with any other problem found (exit 2 wins when something is also invalid).
 */
export function loadFailbackConfig(flags: ParsedFlags, options: LoadOptions): Promise<LoadedConfig> {
  return finishFailbackConfig(collectFailbackSettings(flags), options);
}

/** loadFailbackConfig for settings already collected (and possibly completed by the command). */
export async function finishFailbackConfig(collected: CollectedSettings, options: LoadOptions): Promise<LoadedConfig> {
  if (collected.missing.length > 0) {
    if (!options.interactive) {
      // Only missing values: exit 3 with the list. Anything else wrong too: one USAGE error with all of it.
      if (collected.problems.length > 0 || hasOtherIssues(collected)) return finalizeConfig(FailbackConfigSchema, SETTING_DEFS, collected);
      throw missingInputError(collected.missing);
    }
    await promptForMissing(collected, options.promptIo ?? promptIo(), options.say ?? ((l) => process.stderr.write(`${l}\n`)));
  }
  return finalizeConfig(FailbackConfigSchema, SETTING_DEFS, collected);
}

