/**
 * Item 6: CLI start-up, `molt-failback --help` (bin/run.js, the installed bin), timed from spawn to
 * exit. One untimed run first warms the file cache, as an installed CLI's cache would be warm. The
 * CPU time of the same command (user + system, from bash's `times`, in separate runs so the wall
 * times stay free of the wrapper) is recorded too: it moves far less than wall time when other
 * processes load the machine.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { median, round } from '../lib/stats.js';
import type { BenchContext } from './context.js';

export interface StartupResult {
  readonly command: string;
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly samplesMs: readonly number[];
  /** Median user + system CPU milliseconds of one run. */
  readonly medianCpuMs: number;
}

function timeOnce(repoRoot: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run.js'), '--help'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0 || !/molt-failback/.test(out)) reject(new Error(`molt-failback --help exited ${code}:\n${out.slice(0, 1000)}`));
      else resolve(ms);
    });
  });
}

/** CPU ms of one `--help` run, from bash's `times` (its second line: children's user and system time). */
function cpuOnce(repoRoot: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const script = `"${process.execPath}" bin/run.js --help >/dev/null 2>&1; times`;
    const child = spawn('bash', ['-c', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', () => {
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(out.trim());
      if (!m) return reject(new Error(`cannot read CPU time from bash's times: ${out}`));
      resolve((Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000);
    });
  });
}

export async function runStartup(ctx: BenchContext): Promise<StartupResult> {
  ctx.progress(`startup: timing molt-failback --help, ${ctx.options.startupRuns} runs`);
  await timeOnce(ctx.repoRoot);
  const samples: number[] = [];
  for (let i = 0; i < ctx.options.startupRuns; i++) samples.push(await timeOnce(ctx.repoRoot));
  const cpu: number[] = [];
  for (let i = 0; i < ctx.options.startupRuns; i++) cpu.push(await cpuOnce(ctx.repoRoot));
  return {
    command: 'node bin/run.js --help',
    runs: samples.length,
    medianMs: round(median(samples)),
    minMs: round(Math.min(...samples)),
    maxMs: round(Math.max(...samples)),
    samplesMs: samples.map((s) => round(s)),
    medianCpuMs: round(median(cpu)),
  };
}
