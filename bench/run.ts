/**
 * `npm run bench`: measures the embedded replicator engine against issue 6's goals in one run and
 * writes bench/results/latest.json and latest.md (latest-mariadb.* for a MariaDB target). Phases run
 * in a fixed order, each with fresh databases and its own engine process; after each one the target
 * is checked row by row against what was sent, and a mismatch fails the run. Everything created is removed again, also on Ctrl-C.
 * See bench/README.md for the method behind each figure.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cleanupAll, installSignalHandlers } from './lib/cleanup.js';
import { readGit, readMachine } from './lib/machine.js';
import { parseOptions, USAGE, type BenchOptions } from './lib/options.js';
import { evaluate, markdownTable } from './report/goals.js';
import { evidenceMarkdown } from './report/evidence.js';
import type { PhaseResults } from './report/results.js';
import type { BenchContext } from './phases/context.js';
import { buildBacklog, type BacklogWorkload } from './phases/backlog-workload.js';
import { runBaseline } from './phases/baseline.js';
import { runBacklog } from './phases/backlog.js';
import { runFreshness } from './phases/freshness.js';
import { runMemory } from './phases/memory.js';
import { runStartup } from './phases/startup.js';
import { MariaDbTarget } from './targets/mariadb.js';
import { PostgresTarget } from './targets/postgres.js';
import { statementStatsAvailable } from './targets/pgstats.js';
import type { BenchTarget } from './targets/target.js';
import { RowCodec } from './workload/rows.js';
import { engineBatchSize, engineCommandPresent } from './engine/defaults.js';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const began = performance.now();
const progress = (message: string) => process.stderr.write(`[bench +${((performance.now() - began) / 1000).toFixed(1)}s] ${message}\n`);

async function optionalVersion(target: BenchTarget): Promise<string> {
  try {
    return await target.version();
  } catch {
    return 'unreachable';
  }
}

async function main(options: BenchOptions): Promise<number> {
  installSignalHandlers();
  const warnings: string[] = [];
  const warn = (text: string) => {
    warnings.push(text);
    progress(`WARNING: ${text}`);
  };
  const postgres = new PostgresTarget(options.pgUrl);
  const mariadb = new MariaDbTarget(options.mariadbUrl);
  const target = options.target === 'postgres' ? postgres : mariadb;
  // Fail early, with the command that starts the server, if staging or the target is down.
  const versions = {
    node: process.version,
    postgres: await postgres.version(),
    mariadb: options.target === 'mariadb' ? await mariadb.version() : await optionalVersion(mariadb),
  };

  const stale = [...(await postgres.listStale('molt_bench_')), ...(options.target === 'mariadb' ? await mariadb.listStale('molt_bench_') : [])];
  if (stale.length > 0) {
    if (options.dropStale) {
      for (const name of await postgres.listStale('molt_bench_')) await postgres.dropDatabase(name);
      if (options.target === 'mariadb') for (const name of await mariadb.listStale('molt_bench_')) await mariadb.dropDatabase(name);
      progress(`dropped ${stale.length} stale bench databases`);
    } else {
      warn(`${stale.length} bench databases from an earlier run exist (${stale.slice(0, 3).join(', ')}...); --drop-stale removes them`);
    }
  }

  const enginePhases = options.phases.filter((p) => p === 'backlog' || p === 'freshness' || p === 'memory');
  if (enginePhases.length > 0 && !options.engineEntry && !engineCommandPresent(repoRoot)) {
    throw new Error(
      `phases ${enginePhases.join(', ')} need the engine, but \`molt-failback replicator start\` is not built ` +
        '(dist/commands/replicator/start.js is missing). Run `npm run build`, or pick --phases startup,baseline.',
    );
  }

  const logDir = path.join(options.resultsDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const batch = await engineBatchSize(repoRoot, options.engineArgs);
  const ctx: BenchContext = {
    options,
    repoRoot,
    dbPrefix: `molt_bench_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`,
    target,
    codec: new RowCodec(options.rowBytes, options.seed),
    logDir,
    profileDir: options.profile ? options.resultsDir : undefined,
    statementStats: await statementStatsAvailable(options.pgUrl),
    engineEntry: options.engineEntry ? path.resolve(options.engineEntry) : path.join(repoRoot, 'bin/run.js'),
    engineArgs: options.engineArgs,
    batchSize: options.batchSize ?? batch.size,
    progress,
  };
  if (!ctx.statementStats) progress('pg_stat_statements is not preloaded on this server: recording pg_stat_database/pg_stat_user_tables only');

  progress('reading the machine (1 s of /proc/stat)');
  const machine = await readMachine();
  const git = readGit(repoRoot);
  if (machine.busyCoresBeforeRun > 0.25) {
    warn(
      `${machine.busyCoresBeforeRun} of ${machine.cores} cores were busy before the run started: ` +
        'other processes share the machine, so timings are not representative',
    );
  }
  if (git.dirty) warn('the work tree has uncommitted changes: the figures may not match the recorded commit');

  const results: PhaseResults = {};
  let backlogWork: BacklogWorkload | undefined;
  const record = (failure?: Error) => {
    const lines = evaluate(results, options);
    const report = {
      schema: 1,
      date: new Date().toISOString(),
      ok: failure === undefined,
      failure: failure ? { name: failure.name, message: failure.message } : undefined,
      git,
      machine,
      versions,
      options: { ...options, batchSize: ctx.batchSize, batchSizeSource: options.batchSize ? '--batch-size' : batch.source },
      commitObservation: target.kind === 'postgres' ? 'LISTEN/NOTIFY' : `polling every ${options.pollMs} ms`,
      goals: lines,
      results,
      warnings,
    };
    return { lines, report };
  };

  try {
    for (const phase of options.phases) {
      const phaseStart = performance.now();
      switch (phase) {
        case 'startup':
          results.startup = await runStartup(ctx);
          break;
        case 'baseline':
          backlogWork ??= buildBacklog(ctx, options.rows, true);
          results.baseline = await runBaseline(ctx, backlogWork);
          break;
        case 'backlog':
          backlogWork ??= buildBacklog(ctx, options.rows, true);
          results.backlog = await runBacklog(ctx, backlogWork);
          break;
        case 'freshness':
          results.freshness = await runFreshness(ctx);
          break;
        case 'memory':
          backlogWork = undefined; // free the backlog's bodies before generating 1M rows
          results.memory = await runMemory(ctx);
          break;
      }
      progress(`${phase}: finished in ${((performance.now() - phaseStart) / 1000).toFixed(1)} s`);
    }
  } catch (err) {
    const failure = err as Error;
    const { report } = record(failure);
    const file = path.join(options.resultsDir, 'failed.json');
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stderr.write(`\n*** BENCH FAILED: ${failure.message}\n*** Partial results in ${file}; the latest results were not touched.\n`);
    return 1;
  }

  // Foreign load during a phase makes its wall-clock figures unrepresentative even if the machine
  // was quiet when the run began.
  for (const [phase, r] of [['backlog', results.backlog], ['freshness', results.freshness], ['memory', results.memory]] as const) {
    const other = r?.engine.cpu.otherBusyCores;
    if (other !== undefined && other > 0.3 && options.target === 'postgres') {
      warn(`${phase}: about ${other} cores were busy with work other than the engine, its databases and the bench`);
    }
  }
  const { lines, report } = record();
  const table = markdownTable(lines);
  // One file pair per target, so a MariaDB run does not overwrite the PostgreSQL figures.
  const base = options.target === 'postgres' ? 'latest' : `latest-${options.target}`;
  const jsonFile = path.join(options.resultsDir, `${base}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  rmSync(path.join(options.resultsDir, 'failed.json'), { force: true });
  const header =
    `molt-failback bench, ${report.date.slice(0, 10)}, commit ${git.commit.slice(0, 12)}${git.dirty ? ' (dirty)' : ''}; ` +
    `target ${options.target}; ${machine.cores} cores (${machine.cpuModel}), ${Math.round(machine.memoryBytes / 2 ** 30)} GiB; ` +
    `Node ${versions.node}, PostgreSQL ${versions.postgres}, MariaDB ${versions.mariadb}`;
  const evidence = evidenceMarkdown(results);
  const md = `${header}\n\n${table}\n${warnings.map((w) => `\n> ${w}`).join('')}\n${evidence ? `\n${evidence}\n` : ''}`;
  writeFileSync(path.join(options.resultsDir, `${base}.md`), md);
  process.stdout.write(`\n${md}\nWritten: ${jsonFile}\n`);
  return 0;
}

let parsed: BenchOptions | 'help';
try {
  parsed = parseOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (parsed === 'help') {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!existsSync(parsed.resultsDir)) mkdirSync(parsed.resultsDir, { recursive: true });
let code = 1;
try {
  code = await main(parsed);
} catch (err) {
  process.stderr.write(`\n*** BENCH FAILED: ${(err as Error).message}\n`);
} finally {
  await cleanupAll();
}
process.exit(code);
