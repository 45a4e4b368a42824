/**
 * A whole failback under test, driven through the built CLI as an operator would: the CockroachDB
 * emulator over a fresh real PostgreSQL database (no CockroachDB server exists here), a fresh real
 * PostgreSQL or MariaDB target, the runbook's example schema with the same seed rows on both sides
 * (src/sandbox's schema and model), a real child process standing in for the forward replicator, and
 * the settings `run --yes --json` needs in the environment. It also counts what must never be doubled
 * (changefeed jobs on the emulator, engine processes for this state folder) and drives the sandbox's
 * seeded workload. close() kills every process it or the wizard started and drops both databases.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTarget } from '../../src/replicator/index.js';
import { clusterTimestamp, waitForApplied } from '../../src/sandbox/catch-up.js';
import { Model, seedRows } from '../../src/sandbox/model.js';
import { Random } from '../../src/sandbox/random.js';
import { createTableStatements, EXAMPLE_TABLES, insertStatements } from '../../src/sandbox/schema.js';
import { runWorkload, type WorkloadStats } from '../../src/sandbox/workload.js';
import type { FaultOptions } from '../../src/sandbox/crdb/index.js';
import { runCli, type CliOptions, type CliResult } from './cli.js';
import { startCrdbWorld, targetDatabase, type CrdbWorld } from './crdb-bed.js';
import type { TestDatabase } from './databases.js';
import { startForward, type ForwardProcess } from './forward-process.js';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, host, resolve);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Command lines of live (not zombie) processes, by pid. */
export function processTable(): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      if (argv.length > 0) out.set(Number(entry), argv);
    } catch {
      // gone between readdir and read
    }
  }
  return out;
}

/** Engine processes (`replicator start`) whose arguments point into `dir`. */
export function enginePidsFor(dir: string): number[] {
  const pids: number[] = [];
  for (const [pid, argv] of processTable()) {
    const i = argv.indexOf('replicator');
    if (i >= 0 && argv[i + 1] === 'start' && argv.some((a) => a.startsWith(dir))) pids.push(pid);
  }
  return pids;
}

export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface BedOptions {
  prefix: string;
  target: 'postgres' | 'mariadb';
  seed: number;
  /** Employees in the seed data (payments x2, orders x3). */
  employees?: number;
  faults?: FaultOptions;
  /** Extra settings for the CLI (MOLT_FAILBACK_* names). */
  env?: Record<string, string>;
  /** Host the engine binds its webhook on (default 127.0.0.1; the fault proxy test moves it aside). */
  bindHost?: string;
}

export interface FailbackBed {
  readonly dir: string;
  readonly stateFile: string;
  readonly env: Record<string, string>;
  readonly world: CrdbWorld;
  readonly target: TestDatabase;
  readonly forward: ForwardProcess;
  readonly model: Model;
  readonly rng: Random;
  readonly metricsBase: string;
  readonly bindPort: number;
  /** `molt-failback run --yes --json [args]` with the bed's settings. */
  run(args?: readonly string[], options?: CliOptions): Promise<CliResult>;
  cli(args: readonly string[], options?: CliOptions): Promise<CliResult>;
  workload(o: { transactions: number; rate: number; signal?: AbortSignal; onCommit?: (s: WorkloadStats) => void }): Promise<WorkloadStats>;
  /** Waits until the engine applied everything committed so far; returns the HLC it waited for. */
  catchUp(timeoutMs?: number): Promise<string>;
  /** `molt-failback verify --json --settle-timeout 0`. */
  verify(): Promise<CliResult>;
  enginePids(): number[];
  /** Every changefeed job the emulator knows, in any state. */
  jobs(): Promise<Array<{ job_id: string; status: string }>>;
  state(): { steps: Record<string, { status: string; outputs: Record<string, unknown> }> };
  close(): Promise<void>;
}

export async function startFailbackBed(o: BedOptions): Promise<FailbackBed> {
  const dir = mkdtempSync(join(tmpdir(), `mf-${o.prefix}-`));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  const undo = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const world = await startCrdbWorld(o.prefix);
    cleanups.push(() => world.close());
    const target = await targetDatabase(o.target, o.prefix);
    cleanups.push(() => target.drop());
    // Whatever the wizard started for this folder dies with the bed.
    cleanups.push(() => killAll(enginePidsFor(dir)));

    const rng = new Random(o.seed);
    const model = new Model();
    const data = seedRows(rng, model, o.employees ?? 60);
    for (const s of createTableStatements('crdb')) await world.sql(s);
    for (const t of EXAMPLE_TABLES) for (const s of insertStatements('crdb', t, data[t])) await world.sql(s);
    const pool = await openTarget(target.url, { maxPoolSize: 2 });
    try {
      await pool.execAdmin(createTableStatements(o.target === 'mariadb' ? 'mysql' : 'postgres'));
      for (const t of EXAMPLE_TABLES) await pool.execAdmin(insertStatements(o.target === 'mariadb' ? 'mysql' : 'postgres', t, data[t]));
    } finally {
      await pool.close();
    }
    if (o.faults) world.emu.setFaults(o.faults);

    const forward = await startForward({ activeMs: 800 });
    cleanups.push(() => forward.stop());
    const bindHost = o.bindHost ?? '127.0.0.1';
    const bindPort = await freePort(bindHost);
    const metricsPort = await freePort();
    const stateFile = join(dir, 'state.json');
    const env: Record<string, string> = {
      MOLT_FAILBACK_CRDB_CONN: world.emu.url,
      MOLT_FAILBACK_TARGET_CONN: target.url,
      MOLT_FAILBACK_TABLES: EXAMPLE_TABLES.join(','),
      MOLT_FAILBACK_STATE: stateFile,
      MOLT_FAILBACK_BIND_ADDR: `${bindHost}:${bindPort}`,
      MOLT_FAILBACK_METRICS_ADDR: `127.0.0.1:${metricsPort}`,
      MOLT_FAILBACK_WEBHOOK_HOST: 'localhost',
      MOLT_FAILBACK_FORWARD_METRICS_URL: forward.metricsUrl,
      MOLT_FAILBACK_FORWARD_PID: String(forward.pid),
      MOLT_FAILBACK_DRAIN_QUIET_PERIOD: '1s',
      MOLT_FAILBACK_DRAIN_POLL_INTERVAL: '250ms',
      MOLT_FAILBACK_CHANGEFEED_SINK_CONFIG: '{"Flush":{"Bytes":1048576,"Frequency":"250ms"}}',
      MOLT_FAILBACK_REPLICATOR_FLAGS: '--gracePeriod,5s,--quiescentPeriod,1s',
      MOLT_FAILBACK_MONITOR_TIMEOUT: '90s',
      MOLT_FAILBACK_CLEAN_STAGING: 'true',
      ...o.env,
    };
    const metricsBase = `http://127.0.0.1:${metricsPort}`;
    const cli = (args: readonly string[], options: CliOptions = {}) => runCli(args, { timeoutMs: 300_000, cwd: dir, ...options, env: { ...env, ...options.env } });
    return {
      dir,
      stateFile,
      env,
      world,
      target,
      forward,
      model,
      rng,
      metricsBase,
      bindPort,
      run: (args = [], options = {}) => cli(['run', '--yes', '--json', ...args], options),
      cli,
      workload: (w) => runWorkload({ url: world.emu.url, model, rng, ...w }),
      async catchUp(timeoutMs = 120_000) {
        const ts = await clusterTimestamp(world.emu.url);
        await waitForApplied({ metricsBase, target: ts, timeoutMs });
        return ts;
      },
      verify: () => cli(['verify', '--json', '--settle-timeout', '0']),
      enginePids: () => enginePidsFor(dir),
      jobs: async () => (await world.sql<{ job_id: unknown; status: string }>('SELECT job_id, status FROM [SHOW CHANGEFEED JOBS]')).map((j) => ({ job_id: String(j.job_id), status: j.status })),
      state: () => JSON.parse(readFileSync(stateFile, 'utf8')),
      close: undo,
    };
  } catch (err) {
    await undo();
    throw err;
  }
}
