/**
 * The one configuration loader. Every command declares its settings as a table of SettingDefs; values
 * come from flags > environment > config file > defaults, are validated once with zod, and the result
 * is frozen. Every problem is reported at once, naming the setting and where its value came from, and
 * never echoing a secret. This is also the only module that reads process.env.
 */
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseConn, parseHostPort } from './conn.js';
import { AppError, ExitCode } from './errors.js';
import { parseHlc } from './hlc.js';

export type SettingKind = 'string' | 'number' | 'boolean' | 'list' | 'json';

export interface PromptSpec {
  message: string;
  kind: 'input' | 'password' | 'confirm' | 'select';
  choices?: readonly string[];
}

export interface SettingDef {
  /** Dotted path in the resulting config object, e.g. "target.conn". */
  key: string;
  description: string;
  kind?: SettingKind;
  /** Name of the parsed command-line flag holding this value. */
  flag?: string;
  /** Environment variable holding this value. */
  env?: string;
  /** A secret is never echoed in errors, plans, logs or state (a connection string with a password). */
  secret?: boolean;
  /** Required settings that are still missing after all sources are read are listed together. */
  required?: boolean;
  default?: unknown;
  /** How the wizard asks for a missing required value. */
  prompt?: PromptSpec;
}

export type SettingSource =
  | { kind: 'flag'; name: string }
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string }
  | { kind: 'prompt' }
  /** Recorded by an earlier run in the state file at `path`. */
  | { kind: 'state'; path: string }
  | { kind: 'default' };

export interface CollectedSettings {
  /** Nested object of every value found (before zod validation). */
  values: Record<string, unknown>;
  sources: Record<string, SettingSource>;
  /** Required settings with no value from any source, in declaration order. */
  missing: SettingDef[];
  /** Problems found while reading sources (bad env value, unknown file key, unreadable file). */
  problems: string[];
}

export interface CollectOptions {
  flags?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Path of a JSON config file; when it does not exist and `fileRequired` is false, it is ignored. */
  file?: string;
  fileRequired?: boolean;
}

/** A read-only snapshot of the environment: the only process.env access in the code base. */
export function environment(): Readonly<Record<string, string | undefined>> {
  return Object.freeze({ ...process.env });
}

export function describeSource(def: SettingDef, src: SettingSource | undefined): string {
  switch (src?.kind) {
    case 'flag':
      return `--${src.name}`;
    case 'env':
      return `environment variable ${src.name}`;
    case 'file':
      return `"${def.key}" in ${src.path}`;
    case 'prompt':
      return 'your answer';
    case 'state':
      return `the value recorded in ${src.path}`;
    case 'default':
      return 'the default';
    default:
      return def.flag ? `--${def.flag}` : def.env ? `environment variable ${def.env}` : `"${def.key}"`;
  }
}

/** Where a setting can be given, for "missing value" messages. */
export function describeWays(def: SettingDef): string {
  const ways = [];
  if (def.flag) ways.push(`--${def.flag}`);
  if (def.env) ways.push(`env ${def.env}`);
  ways.push(`"${def.key}" in the config file`);
  return ways.join(', ');
}

export function getPath(obj: Record<string, unknown>, key: string): unknown {
  let cur: unknown = obj;
  for (const part of key.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1] as string] = value;
}

function parseEnvValue(def: SettingDef, raw: string): { value?: unknown; problem?: string } {
  const name = def.env as string;
  switch (def.kind ?? 'string') {
    case 'number': {
      const n = Number(raw);
      return Number.isFinite(n) && raw.trim() !== '' ? { value: n } : { problem: `environment variable ${name} must be a number.` };
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return { value: true };
      if (['0', 'false', 'no', 'off', ''].includes(v)) return { value: false };
      return { problem: `environment variable ${name} must be true or false.` };
    }
    case 'list':
      return { value: raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0) };
    case 'json':
      try {
        return { value: JSON.parse(raw) };
      } catch {
        return { problem: `environment variable ${name} must be valid JSON.` };
      }
    default:
      return { value: raw };
  }
}

function flattenKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(key, ...flattenKeys(v as Record<string, unknown>, key));
    else out.push(key);
  }
  return out;
}

function readConfigFile(path: string, required: boolean): { data?: Record<string, unknown>; problem?: string } {
  const abs = resolve(path);
  if (!existsSync(abs)) return required ? { problem: `config file ${path} does not exist.` } : {};
  try {
    const data: unknown = JSON.parse(readFileSync(abs, 'utf8'));
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return { problem: `config file ${path} must hold a JSON object.` };
    return { data: data as Record<string, unknown> };
  } catch (err) {
    return { problem: `config file ${path} is not valid JSON (${(err as Error).message}).` };
  }
}

/** Reads every source in precedence order; does not validate types beyond env parsing. */
export function collectSettings(defs: readonly SettingDef[], options: CollectOptions): CollectedSettings {
  const flags = options.flags ?? {};
  const env = options.env ?? {};
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  let fileData: Record<string, unknown> | undefined;
  if (options.file) {
    const r = readConfigFile(options.file, options.fileRequired ?? false);
    if (r.problem) problems.push(r.problem);
    fileData = r.data;
    if (fileData) {
      const known = new Set<string>();
      for (const d of defs) {
        const parts = d.key.split('.');
        for (let i = 1; i <= parts.length; i++) known.add(parts.slice(0, i).join('.'));
      }
      const jsonKeys = new Set(defs.filter((d) => d.kind === 'json').map((d) => d.key));
      for (const k of flattenKeys(fileData)) {
        const underJson = [...jsonKeys].some((j) => k.startsWith(`${j}.`));
        if (!known.has(k) && !underJson && k !== '$schema') problems.push(`config file ${options.file}: unknown setting "${k}".`);
      }
    }
  }
  const missing: SettingDef[] = [];
  for (const def of defs) {
    const flagValue = def.flag ? flags[def.flag] : undefined;
    if (flagValue !== undefined && !(Array.isArray(flagValue) && flagValue.length === 0)) {
      setPath(values, def.key, def.kind === 'list' && typeof flagValue === 'string' ? parseEnvValue({ ...def, env: def.flag }, flagValue).value : flagValue);
      sources[def.key] = { kind: 'flag', name: def.flag as string };
      continue;
    }
    const envValue = def.env ? env[def.env] : undefined;
    if (envValue !== undefined && envValue !== '') {
      const parsed = parseEnvValue(def, envValue);
      if (parsed.problem) problems.push(parsed.problem);
      else {
        setPath(values, def.key, parsed.value);
        sources[def.key] = { kind: 'env', name: def.env as string };
        continue;
      }
    }
    const fileValue = fileData ? getPath(fileData, def.key) : undefined;
    if (fileValue !== undefined) {
      setPath(values, def.key, fileValue);
      sources[def.key] = { kind: 'file', path: options.file as string };
      continue;
    }
    if (def.default !== undefined) {
      setPath(values, def.key, structuredClone(def.default));
      sources[def.key] = { kind: 'default' };
      continue;
    }
    if (def.required) missing.push(def);
  }
  return { values, sources, missing, problems };
}

/** Fills in a value from a source other than flags, env, file or defaults; it is no longer missing. */
export function applyValue(collected: CollectedSettings, def: SettingDef, value: unknown, source: SettingSource): void {
  setPath(collected.values, def.key, value);
  collected.sources[def.key] = source;
  collected.missing = collected.missing.filter((d) => d.key !== def.key);
}

/** Records an answer given at a prompt. */
export const applyAnswer = (collected: CollectedSettings, def: SettingDef, value: unknown): void => applyValue(collected, def, value, { kind: 'prompt' });

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

export function missingInputError(missing: readonly SettingDef[]): AppError {
  return new AppError(
    'MISSING_INPUT',
    `${missing.length} required value${missing.length === 1 ? ' is' : 's are'} missing and there is no terminal to ask for ${missing.length === 1 ? 'it' : 'them'}:\n` +
      missing.map((d) => `  - ${d.key}: ${d.description} (${describeWays(d)})`).join('\n'),
    {
      exitCode: ExitCode.MISSING_INPUT,
      actions: ['Give each missing value with a flag, an environment variable or the config file, or run in a terminal to be asked.'],
      data: { missing: missing.map((d) => ({ key: d.key, flag: d.flag, env: d.env })) },
    },
  );
}

/**
 * True when a zod issue at `issueKey` is only the echo of a missing value: the key itself, or a parent
 * object that does not exist because its only given child is missing ("crdb" when crdb.conn is).
 */
export function coveredByMissing(missing: readonly SettingDef[], issueKey: string): boolean {
  return missing.some((d) => d.key === issueKey || d.key.startsWith(`${issueKey}.`));
}

/**
 * Validates collected values with zod and freezes the result. Reports source problems, missing values
 * and every zod issue in one error; secret values are never quoted.
 */
export function finalizeConfig<S extends z.ZodType>(
  schema: S,
  defs: readonly SettingDef[],
  collected: CollectedSettings,
): { config: Readonly<z.infer<S>>; sources: Record<string, SettingSource> } {
  const problems = [...collected.problems];
  for (const d of collected.missing) problems.push(`${d.key} is required: ${d.description} (${describeWays(d)}).`);
  const parsed = schema.safeParse(collected.values);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.map(String).join('.');
      if (coveredByMissing(collected.missing, key)) continue;
      const def = defs.find((d) => d.key === key || key.startsWith(`${d.key}.`));
      const where = def ? ` (from ${describeSource(def, collected.sources[def.key])})` : '';
      // zod messages describe the expectation, not the received value, so they are safe for secrets.
      problems.push(`${key || 'config'}: ${issue.message.replace(/\.$/, '')}${where}.`);
    }
  }
  if (problems.length > 0) {
    throw new AppError('CONFIG_INVALID', `The configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` + problems.map((p) => `  - ${p}`).join('\n'), {
      exitCode: ExitCode.USAGE,
      actions: ['Fix the settings listed above; `--help` lists every flag and its environment variable.'],
      data: { problems },
    });
  }
  return { config: deepFreeze(parsed.data as z.infer<S>), sources: collected.sources };
}

/** Convenience for non-interactive commands: collect, fail on anything missing, validate. */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  defs: readonly SettingDef[],
  options: CollectOptions,
): { config: Readonly<z.infer<S>>; sources: Record<string, SettingSource> } {
  return finalizeConfig(schema, defs, collectSettings(defs, options));
}

/** Parses a Go-style duration ("250ms", "1s", "1m30s", "10s") to milliseconds. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    const n = Number(m[1]);
    const unit = m[2];
    const factor = unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : unit === 'ms' ? 1 : unit === 'ns' ? 1e-6 : 1e-3;
    total += n * factor;
    consumed += m[0].length;
  }
  if (consumed !== t.length || consumed === 0) throw new Error(`invalid duration "${text}" (use forms like 250ms, 10s, 1m30s)`);
  return total;
}

/** zod type for a Go-style duration string, validated and kept as text. */
export const durationString = z.string().refine((s) => {
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}, 'must be a duration such as 250ms, 10s or 1m30s');

/** zod type for a listen address, host:port or :port (what parseHostPort accepts). */
export const hostPortString = z.string().superRefine((v, ctx) => {
  try {
    parseHostPort(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be host:port or :port, e.g. :30004 or 127.0.0.1:30005, with a port from 0 to 65535' });
  }
});

/** zod type for a host name or IP address as it goes into a URL (no port, path, space or userinfo). */
export const hostString = z
  .string()
  .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)$/, 'must be a host name or an IP address (no port, scheme or path), e.g. replicator.internal or 10.0.0.5');

/** zod type for a decimal HLC timestamp (<nanos>.<10-digit logical>), kept as text. */
export const hlcString = z.string().superRefine((v, ctx) => {
  try {
    parseHlc(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** zod type for a connection string that parseConn accepts; its message never echoes the value. */
export const connString = (setting: string) =>
  z.string().min(1).superRefine((v, ctx) => {
    try {
      parseConn(v, setting);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });
