/**
 * Runs the built CLI (`node bin/run.js`, so `npm run build` must have run) as a child process without
 * a terminal, the way CI and scripts do. Every run has a deadline: a CLI that waits for input fails
 * the test with its output instead of hanging it. @oclif/test is not usable under node:test.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export interface CliOptions {
  /** Extra environment; MOLT_FAILBACK_* variables of the test process are never inherited. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Text to write to stdin before closing it; stdin is at EOF right away by default. */
  input?: string;
  timeoutMs?: number;
  /** Called with the child once spawned (to send it a signal mid-run). */
  onSpawn?: (child: import('node:child_process').ChildProcess) => void;
}

/** The test process's environment without MOLT_FAILBACK_* (a developer's shell must not leak into tests). */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('MOLT_FAILBACK_')) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // No colours: tests match plain text.
  env.NO_COLOR = '1';
  env.FORCE_COLOR = '0';
  return env;
}

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'commands', 'run.js'))) {
    throw new Error('dist/ is missing or stale: run `npm run build` before the CLI tests (npm test does).');
  }
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  assertBuilt();
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined); // the CLI may exit before reading stdin
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    options.onSpawn?.(child);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, durationMs: Date.now() - started, timedOut });
    });
  });
}

/** Parses stdout as JSON, failing with the output in the message when it is not. */
export function parseJson<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
}

export const describeRun = (r: CliResult): string => `exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
