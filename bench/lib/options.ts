/**
 * Command-line options of `npm run bench`, parsed once into a frozen object. Defaults are the sizes
 * issue 6 asks for; `--quick` shrinks them for a smoke run on a busy machine. Nothing else in the
 * harness reads process.argv or process.env.
 */
import { parseArgs } from 'node:util';

export const PHASES = ['startup', 'baseline', 'backlog', 'freshness', 'memory'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface BenchOptions {
  readonly target: 'postgres' | 'mariadb';
  readonly phases: readonly PhaseName[];
  /** Mutations in the backlog (end-to-end, ingest while applying, baseline). */
  readonly rows: number;
  readonly tables: number;
  /** Width of the text column of every row, in characters. */
  readonly rowBytes: number;
  /** Shares of inserts, updates and deletes in the backlog scripts (they sum to 1). */
  readonly mix: readonly [number, number, number];
  /** Source write rate the backlog was produced at: sets how many rows fall in one resolved window. */
  readonly sourceRate: number;
  readonly resolvedMs: number;
  readonly bodyBytes: number;
  readonly connections: number;
  readonly freshnessRate: number;
  readonly freshnessSeconds: number;
  readonly freshnessWarmupSeconds: number;
  readonly memoryRows: number;
  readonly startupRuns: number;
  /** Rows per statement for the baseline; undefined = the engine's --flushSize default. */
  readonly batchSize: number | undefined;
  readonly pollMs: number;
  /** A phase fails when the target makes no visible progress for this long. */
  readonly stallSeconds: number;
  readonly profile: boolean;
  readonly engineArgs: readonly string[];
  /** Script started as the engine instead of bin/run.js (harness development, other builds). */
  readonly engineEntry: string | undefined;
  readonly pgUrl: string;
  readonly mariadbUrl: string;
  readonly keep: boolean;
  readonly dropStale: boolean;
  readonly resultsDir: string;
  readonly seed: number;
}

export const USAGE = `Usage: npm run bench -- [options]

Measures the embedded replicator engine (see bench/README.md). Options:
  --target postgres|mariadb   target database (default postgres; staging is always PostgreSQL)
  --phases a,b,...            subset of ${PHASES.join(',')} (default: all)
  --rows N                    backlog mutations for end-to-end and baseline (default 200000)
  --tables N                  tables in the foreign-key chain (default 3)
  --row-bytes N               width of each row's text column (default 100)
  --mix I,U,D                 insert,update,delete shares of the backlog (default 50,25,25)
  --source-rate N             source rows/s the backlog was written at (default 5000)
  --resolved-ms N             resolved cadence in source time (default 250)
  --body-bytes N              webhook body size (default 1048576)
  --connections N             concurrent keep-alive connections (default 4)
  --freshness-rate N          steady rows/s in the freshness phase (default 5000)
  --freshness-seconds N       measured duration of the freshness phase (default 60)
  --freshness-warmup N        seconds discarded at the start of it (default 5)
  --memory-rows N             staged backlog for the memory phase (default 1000000)
  --startup-runs N            runs of \`molt-failback --help\` (default 10)
  --batch-size N              baseline rows per statement (default: the engine's --flushSize default)
  --poll-ms N                 target polling interval where LISTEN/NOTIFY is unavailable (default 5)
  --stall-seconds N           fail a phase after this long without target progress (default 120)
  --profile                   run the engine with --cpu-prof into bench/results/ and summarise it
  --engine-arg ARG            extra flag for \`replicator start\` (repeatable), e.g. --engine-arg=--flushSize=5000
  --engine-entry FILE         run FILE instead of bin/run.js as the engine (a .ts file runs under tsx);
                              for developing the harness or measuring another build
  --pg-url URL                PostgreSQL admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
  --mariadb-url URL           MariaDB admin URL (default mysql://root@127.0.0.1:3306/mysql)
  --keep                      keep the bench databases afterwards (for inspection)
  --drop-stale                first drop molt_bench_* databases left by a killed run
  --quick                     smoke sizes: 20k rows, 50k memory rows, 10 s freshness, 3 startup runs
  --seed N                    workload random seed (default 1)
  -h, --help                  this text`;

const int = (name: string, text: string | undefined, fallback: number, min = 1): number => {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${text}"`);
  return n;
};

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      target: { type: 'string' },
      phases: { type: 'string' },
      rows: { type: 'string' },
      tables: { type: 'string' },
      'row-bytes': { type: 'string' },
      mix: { type: 'string' },
      'source-rate': { type: 'string' },
      'resolved-ms': { type: 'string' },
      'body-bytes': { type: 'string' },
      connections: { type: 'string' },
      'freshness-rate': { type: 'string' },
      'freshness-seconds': { type: 'string' },
      'freshness-warmup': { type: 'string' },
      'memory-rows': { type: 'string' },
      'startup-runs': { type: 'string' },
      'batch-size': { type: 'string' },
      'poll-ms': { type: 'string' },
      'stall-seconds': { type: 'string' },
      profile: { type: 'boolean' },
      'engine-arg': { type: 'string', multiple: true },
      'engine-entry': { type: 'string' },
      'pg-url': { type: 'string' },
      'mariadb-url': { type: 'string' },
      keep: { type: 'boolean' },
      'drop-stale': { type: 'boolean' },
      quick: { type: 'boolean' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick === true;

  const target = values.target ?? 'postgres';
  if (target !== 'postgres' && target !== 'mariadb') throw new Error(`--target must be postgres or mariadb, got "${target}"`);

  const phases = values.phases === undefined ? [...PHASES] : values.phases.split(',').map((p) => p.trim());
  for (const p of phases) {
    if (!(PHASES as readonly string[]).includes(p)) throw new Error(`unknown phase "${p}" (known: ${PHASES.join(', ')})`);
  }

  const mixParts = (values.mix ?? '50,25,25').split(',').map(Number);
  if (mixParts.length !== 3 || mixParts.some((n) => !Number.isFinite(n) || n < 0) || mixParts[0]! <= 0) {
    throw new Error(`--mix must be three non-negative numbers I,U,D with I > 0, got "${values.mix}"`);
  }
  const total = mixParts[0]! + mixParts[1]! + mixParts[2]!;
  // Deletes and updates touch rows the inserts created, so neither may outnumber the inserts.
  if (mixParts[1]! > mixParts[0]! || mixParts[2]! > mixParts[0]!) {
    throw new Error('--mix: updates and deletes may not outnumber inserts');
  }

  const options: BenchOptions = {
    target,
    phases: PHASES.filter((p) => phases.includes(p)),
    rows: int('rows', values.rows, quick ? 20_000 : 200_000, 10),
    tables: int('tables', values.tables, 3),
    rowBytes: int('row-bytes', values['row-bytes'], 100, 0),
    mix: [mixParts[0]! / total, mixParts[1]! / total, mixParts[2]! / total],
    sourceRate: int('source-rate', values['source-rate'], 5000),
    resolvedMs: int('resolved-ms', values['resolved-ms'], 250),
    bodyBytes: int('body-bytes', values['body-bytes'], 1024 * 1024, 1024),
    connections: int('connections', values.connections, 4),
    freshnessRate: int('freshness-rate', values['freshness-rate'], 5000),
    freshnessSeconds: int('freshness-seconds', values['freshness-seconds'], quick ? 10 : 60),
    freshnessWarmupSeconds: int('freshness-warmup', values['freshness-warmup'], quick ? 2 : 5, 0),
    memoryRows: int('memory-rows', values['memory-rows'], quick ? 50_000 : 1_000_000, 10),
    startupRuns: int('startup-runs', values['startup-runs'], quick ? 3 : 10),
    batchSize: values['batch-size'] === undefined ? undefined : int('batch-size', values['batch-size'], 1000),
    pollMs: int('poll-ms', values['poll-ms'], 5),
    stallSeconds: int('stall-seconds', values['stall-seconds'], 120),
    profile: values.profile === true,
    engineArgs: values['engine-arg'] ?? [],
    engineEntry: values['engine-entry'],
    pgUrl: values['pg-url'] ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    mariadbUrl: values['mariadb-url'] ?? 'mysql://root@127.0.0.1:3306/mysql',
    keep: values.keep === true,
    dropStale: values['drop-stale'] === true,
    resultsDir: new URL('../results/', import.meta.url).pathname,
    seed: int('seed', values.seed, 1, 0),
  };
  return Object.freeze(options);
}
