/**
 * CPU accounting for a stretch of an engine phase: seconds used by the engine process, by the
 * PostgreSQL backends serving its staging and target databases, and by the bench, against the whole
 * machine's busy time. Wall-clock rates move with whatever else runs on the 2 cores; CPU seconds per
 * row move much less, so they are the evidence to read on a shared machine, and they give a CPU-bound
 * ceiling: cores / (engine + database CPU per row).
 */
import os from 'node:os';
import { busyCores, readCpuSeconds, readMachineCpu, type MachineCpu } from '../lib/proc.js';
import { backendCpu } from '../targets/pgstats.js';

export interface CpuSnapshot {
  readonly atMs: number;
  /** Monotonic microseconds, the clock of V8's .cpuprofile timestamps. */
  readonly monoUs: number;
  readonly engine: number | undefined;
  /** pid -> [database, CPU seconds] of the PostgreSQL backends. */
  readonly backends: ReadonlyMap<number, readonly [string, number]>;
  readonly bench: NodeJS.CpuUsage;
  readonly machine: MachineCpu;
}

export interface CpuCost {
  readonly wallSeconds: number;
  readonly rows: number;
  readonly engineSeconds: number;
  readonly pgStagingSeconds: number;
  /** Undefined when the target is not this machine's PostgreSQL (MariaDB runs threads, not processes). */
  readonly pgTargetSeconds: number | undefined;
  readonly benchSeconds: number;
  /** Average busy cores of the whole machine (includes other users of the machine). */
  readonly machineBusyCores: number;
  /**
   * Busy cores not explained by the engine, its PostgreSQL backends and the bench: other processes,
   * PostgreSQL's background work and, with --target mariadb, MariaDB itself (its threads are not
   * attributed). Well above zero on PostgreSQL means the figures were taken on a shared machine.
   */
  readonly otherBusyCores: number;
  /** CPU milliseconds per 1,000 rows. */
  readonly msPerKRows: { readonly engine: number; readonly pgStaging: number; readonly pgTarget: number | undefined };
  /** cores / ((engine + PostgreSQL) CPU per row): the rate at which this work would saturate the machine. */
  readonly cpuCeilingRowsPerSecond: number;
}

export async function cpuSnapshot(pgUrl: string, enginePid: number, databases: readonly string[]): Promise<CpuSnapshot> {
  const backends = new Map<number, readonly [string, number]>();
  for (const b of await backendCpu(pgUrl, databases)) backends.set(b.pid, [b.database, b.cpuSeconds]);
  return { atMs: performance.now(), monoUs: Number(process.hrtime.bigint() / 1000n), engine: readCpuSeconds(enginePid), backends, bench: process.cpuUsage(), machine: readMachineCpu() };
}

const r2 = (n: number) => Math.round(n * 100) / 100;

export function cpuCost(from: CpuSnapshot, to: CpuSnapshot, rows: number, stagingDb: string, targetDb: string | undefined): CpuCost {
  let staging = 0;
  let target = 0;
  for (const [pid, [db, cpu]] of to.backends) {
    const delta = cpu - (from.backends.get(pid)?.[1] ?? 0);
    if (db === stagingDb) staging += delta;
    else if (db === targetDb) target += delta;
  }
  const engine = (to.engine ?? 0) - (from.engine ?? 0);
  const bench = (to.bench.user - from.bench.user + to.bench.system - from.bench.system) / 1e6;
  const perK = (s: number) => Math.round((s * 1e7) / Math.max(1, rows)) / 10;
  const cores = os.cpus().length;
  const dbCpu = staging + (targetDb ? target : 0);
  return {
    wallSeconds: r2((to.atMs - from.atMs) / 1000),
    rows,
    engineSeconds: r2(engine),
    pgStagingSeconds: r2(staging),
    pgTargetSeconds: targetDb ? r2(target) : undefined,
    benchSeconds: r2(bench),
    machineBusyCores: r2(busyCores(from.machine, to.machine, cores)),
    otherBusyCores: r2(busyCores(from.machine, to.machine, cores) - (engine + dbCpu + bench) / Math.max(0.001, (to.atMs - from.atMs) / 1000)),
    msPerKRows: { engine: perK(engine), pgStaging: perK(staging), pgTarget: targetDb ? perK(target) : undefined },
    cpuCeilingRowsPerSecond: engine + dbCpu > 0 ? Math.round((cores * rows) / (engine + dbCpu)) : Number.NaN,
  };
}
