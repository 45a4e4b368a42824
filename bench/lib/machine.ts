/**
 * What the figures were measured on: machine, versions, git commit, date, and how busy the machine
 * was before the run started (timings taken while other processes load the 2 cores are not
 * representative, and the report says so).
 */
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { busyCores, readMachineCpu } from './proc.js';
import { sleep } from './stats.js';

export interface MachineInfo {
  readonly cores: number;
  readonly memoryBytes: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly loadAverage: readonly number[];
  /** Busy cores (0..cores) over one second before the run, from /proc/stat. */
  readonly busyCoresBeforeRun: number;
}

export interface GitInfo {
  readonly commit: string;
  /** True when the work tree had uncommitted changes (the figures may include them). */
  readonly dirty: boolean;
}

export async function readMachine(): Promise<MachineInfo> {
  const before = readMachineCpu();
  await sleep(1000);
  const after = readMachineCpu();
  const cores = os.cpus().length;
  return {
    cores,
    memoryBytes: os.totalmem(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    busyCoresBeforeRun: Math.round(busyCores(before, after, cores) * 100) / 100,
  };
}

export function readGit(cwd: string): GitInfo {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}
