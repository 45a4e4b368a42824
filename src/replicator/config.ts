/**
 * The engine's settings: one table (MOLT Replicator's flag names and defaults, plus molt-failback's own
 * additions), the zod schema of the validated config, and the derived runtime values (durations in
 * milliseconds, effective parallelism, parsed --sourceKeyColumns). `replicator start` parses flags through
 * lib/config.ts with this table; the wizard can call parseEngineConfig() to build the same object.
 * Connection strings are secrets: nothing here ever echoes them.
 */
import { z } from 'zod';
import { connString, durationString, parseDuration, loadConfig, type SettingDef, type CollectOptions } from '../lib/config.js';
import { parseConn, parseHostPort } from '../lib/conn.js';

/** MOLT_FAILBACK_REPLICATOR_<UPPER_SNAKE_NAME> for a camelCase setting name. */
export function engineEnvName(name: string): string {
  return `MOLT_FAILBACK_REPLICATOR_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

/** Where a setting belongs in `--help` (oclif helpGroup). */
export type SettingGroup = 'CONNECTION' | 'SERVER' | 'APPLY' | 'PROCESS';

export interface EngineSettingDef extends SettingDef {
  group: SettingGroup;
  /** Our addition (not a MOLT Replicator flag): documented as such in --help and the README. */
  ours?: boolean;
  /** Not a flag at all (environment only), e.g. the test-only crash hook. */
  envOnly?: boolean;
  /** Short flag letter. */
  char?: string;
  /** Values accepted by a string setting. */
  options?: readonly string[];
}

const MiB = 1024 * 1024;

function def(
  key: string,
  group: SettingGroup,
  kind: 'string' | 'number' | 'boolean',
  description: string,
  extra: Partial<EngineSettingDef> = {},
): EngineSettingDef {
  return {
    key,
    group,
    kind,
    description,
    flag: extra.envOnly ? undefined : key,
    env: engineEnvName(key),
    ...extra,
  };
}

/**
 * Every engine setting. The key is the camelCase flag name; each one can also come from the environment
 * (MOLT_FAILBACK_REPLICATOR_<UPPER_SNAKE_NAME>), which is how the wizard passes connection strings so
 * they never show in `ps`.
 */
export const ENGINE_SETTINGS: readonly EngineSettingDef[] = [
  // -- connections and staging
  def('targetConn', 'CONNECTION', 'string', 'Target database URL: postgres://, postgresql://, mysql:// or oracle:// (secret: prefer the environment variable).', {
    secret: true,
    required: true,
  }),
  def('stagingConn', 'CONNECTION', 'string', 'Staging database URL over the pg protocol: CockroachDB in production, PostgreSQL accepted. Defaults to --targetConn when that is a postgres:// URL.', {
    secret: true,
  }),
  def('stagingSchema', 'CONNECTION', 'string', 'Staging schema as db.schema (one part gets ".public"); the engine connects to database db and keeps its tables there.', {
    default: '_replicator.public',
  }),
  def('stagingCreateSchema', 'CONNECTION', 'boolean', 'Create the staging database and schema when they are missing.', { default: false }),
  def('stagingMaxPoolSize', 'CONNECTION', 'number', 'Maximum staging connections.', { default: 128 }),
  def('stagingIdleTime', 'CONNECTION', 'string', 'Close staging connections idle for this long.', { default: '1m' }),
  def('stagingMaxLifetime', 'CONNECTION', 'string', 'Recycle staging connections after this long.', { default: '5m' }),
  def('targetMaxPoolSize', 'CONNECTION', 'number', 'Maximum target connections; --parallelism is held to 80% of it.', { default: 128 }),
  def(
    'stagingWriteParallelism',
    'CONNECTION',
    'number',
    'Most webhook batches written to staging at once; more wait their turn. Concurrent inserts all land on the newest end of the staging key and contend there (on PostgreSQL 4 writers cost 50% more CPU per row than 1, for no more throughput); raise it for a remote CockroachDB, where latency dominates.',
    { default: 2, ours: true },
  ),

  // -- webhook server
  def('bindAddr', 'SERVER', 'string', 'Listen address of the webhook sink (host:port or :port).', { default: ':26258' }),
  def('tlsCertificate', 'SERVER', 'string', 'PEM certificate chain file for HTTPS (with --tlsPrivateKey).'),
  def('tlsPrivateKey', 'SERVER', 'string', 'PEM private key file for HTTPS (with --tlsCertificate).'),
  def('tlsSelfSigned', 'SERVER', 'boolean', 'Serve HTTPS with a fresh self-signed certificate for localhost, 127.0.0.1 and ::1 (tests only).', { default: false }),
  def('tlsClientCa', 'SERVER', 'string', 'Require a client certificate signed by this CA (PEM file): mutual TLS with the changefeed\'s client_cert.', { ours: true }),
  def('metricsAddr', 'SERVER', 'string', 'Separate plain-HTTP listen address for /_/varz, /_/diag and /_/healthz.'),
  def('disableAuthentication', 'SERVER', 'boolean', 'Accept webhook requests without a bearer token (tests only).', { default: false }),
  def('authTokenFile', 'SERVER', 'string', 'File of accepted bearer tokens, one per line (make one with `replicator make-token --out FILE`); re-read on SIGHUP.', { ours: true }),
  def('httpResponseTimeout', 'SERVER', 'string', 'Maximum time to receive and stage one request; past it the sink answers 503 so the changefeed retries.', { default: '2m' }),
  def('healthCheckTimeout', 'SERVER', 'string', 'Timeout of each database ping made by /_/healthz.', { default: '5s' }),
  def('maxBodyBytes', 'SERVER', 'number', 'Largest accepted request body in bytes (after decompression); larger bodies get 413.', { default: 8 * MiB, ours: true }),
  def('fingerprint', 'SERVER', 'string', 'Opaque text echoed in /_/diag, so a supervisor can recognise an engine it started.', { ours: true }),

  // -- apply
  def('parallelism', 'APPLY', 'number', 'Maximum concurrent target transactions.', { default: 16 }),
  def('enableParallelApplies', 'APPLY', 'boolean', 'Apply independent table groups (tables not linked by foreign keys) in parallel transactions.', { default: false }),
  def('collapseMutations', 'APPLY', 'boolean', 'Keep only the last mutation per key within each target transaction.', { default: true }),
  def('flushSize', 'APPLY', 'number', 'Rows per target statement.', { default: 1000 }),
  def('flushPeriod', 'APPLY', 'string', 'How often the apply loop polls staging for resolved timestamps received by other instances (a local one wakes it at once).', { default: '1s' }),
  def('scanSize', 'APPLY', 'number', 'Staged rows read per page; also the largest target transaction, except that one source transaction is never split.', { default: 10000 }),
  def('quiescentPeriod', 'APPLY', 'string', 'Wait before retrying a window that hit a foreign-key violation or a non-retryable error.', { default: '10s' }),
  def('targetApplyQueueSize', 'APPLY', 'number', 'Backpressure: when more staged mutations than this wait to be applied for a schema, row batches get 503 with Retry-After.', { default: 1_000_000 }),
  def('applyTimeout', 'APPLY', 'string', 'Time budget per --flushSize rows of a target transaction; a transaction past its budget is rolled back and retried.', { default: '30s' }),
  def('maxRetries', 'APPLY', 'number', 'Retries of a target transaction on serialization failures, deadlocks and lost connections.', { default: 10 }),
  def('retryInitialBackoff', 'APPLY', 'string', 'First wait between retries.', { default: '25ms' }),
  def('retryMaxBackoff', 'APPLY', 'string', 'Longest wait between retries.', { default: '2s' }),
  def('retryMultiplier', 'APPLY', 'number', 'Backoff growth factor between retries.', { default: 2 }),
  def('schemaRefresh', 'APPLY', 'string', 'How often target table definitions are re-read (also re-read at once when an unknown table appears).', { default: '1m' }),
  def('sourceKeyColumns', 'APPLY', 'string', "Source primary-key column order where it differs from the target's, as 'table=col1,col2;table2=colA,colB' (maps a delete's key array onto columns by name).", { ours: true }),

  // -- process
  def('gracePeriod', 'PROCESS', 'string', 'Time allowed for a clean shutdown after SIGTERM or SIGINT.', { default: '30s' }),
  def('verbose', 'PROCESS', 'number', '-v logs every webhook request (method, path, status, latency, rows, bytes) and apply windows; -vv adds trace detail.', { default: 0, char: 'v' }),
  def('logFormat', 'PROCESS', 'string', 'Log format: fluent (JSON lines, the only format). text is not supported.', { default: 'fluent', options: ['fluent', 'text'] }),
  def('logDestination', 'PROCESS', 'string', 'Append logs to this file instead of stderr.'),
  def('exitWithPid', 'PROCESS', 'number', 'Stop gracefully, as on SIGTERM, once the process with this pid has exited (checked every second); the sandbox passes its own pid so a killed sandbox leaves no engine behind.', { ours: true }),
  def('testCrashAfterCommit', 'PROCESS', 'boolean', 'TEST ONLY: SIGKILL the process right after a target commit, before the window is marked applied.', {
    envOnly: true,
    default: false,
  }),
];

const optionalPath = z.string().min(1).optional();
const positiveInt = z.number().int().positive();

const addr = (setting: string) =>
  z.string().superRefine((v, ctx) => {
    try {
      parseHostPort(v, setting);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const EngineConfigSchema = z
  .object({
    targetConn: connString('targetConn'),
    stagingConn: connString('stagingConn').optional(),
    stagingSchema: z.string().regex(/^[^.\s]+(\.[^.\s]+)?$/, 'must be db.schema (or a single database name, which gets .public)'),
    stagingCreateSchema: z.boolean(),
    stagingMaxPoolSize: positiveInt,
    stagingIdleTime: durationString,
    stagingMaxLifetime: durationString,
    targetMaxPoolSize: z.number().int().min(2, 'must be at least 2'),
    stagingWriteParallelism: positiveInt,
    bindAddr: addr('bindAddr'),
    tlsCertificate: optionalPath,
    tlsPrivateKey: optionalPath,
    tlsSelfSigned: z.boolean(),
    tlsClientCa: optionalPath,
    metricsAddr: addr('metricsAddr').optional(),
    disableAuthentication: z.boolean(),
    authTokenFile: optionalPath,
    httpResponseTimeout: durationString,
    healthCheckTimeout: durationString,
    maxBodyBytes: z.number().int().min(1024, 'must be at least 1024'),
    fingerprint: z.string().optional(),
    parallelism: positiveInt,
    enableParallelApplies: z.boolean(),
    collapseMutations: z.boolean(),
    flushSize: positiveInt,
    flushPeriod: durationString,
    scanSize: positiveInt,
    quiescentPeriod: durationString,
    targetApplyQueueSize: positiveInt,
    applyTimeout: durationString,
    maxRetries: z.number().int().min(0),
    retryInitialBackoff: durationString,
    retryMaxBackoff: durationString,
    retryMultiplier: z.number().min(1, 'must be at least 1'),
    schemaRefresh: durationString,
    sourceKeyColumns: z
      .string()
      .optional()
      .superRefine((v, ctx) => {
        if (v === undefined) return;
        try {
          parseSourceKeyColumns(v);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
        }
      }),
    gracePeriod: durationString,
    verbose: z.number().int().min(0).max(2),
    logFormat: z.enum(['fluent', 'text']),
    logDestination: optionalPath,
    exitWithPid: positiveInt.optional(),
    testCrashAfterCommit: z.boolean(),
  })
  .superRefine((c, ctx) => {
    if ((c.tlsCertificate === undefined) !== (c.tlsPrivateKey === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['tlsCertificate'], message: 'either both of tlsCertificate and tlsPrivateKey must be set, or none' });
    }
    if (c.tlsSelfSigned && c.tlsCertificate !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['tlsSelfSigned'], message: 'self-signed certificate requested, but also specified a TLS certificate' });
    }
    if (c.tlsClientCa !== undefined && !c.tlsSelfSigned && c.tlsCertificate === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tlsClientCa'], message: 'needs HTTPS: give --tlsCertificate/--tlsPrivateKey or --tlsSelfSigned' });
    }
    if (!c.disableAuthentication && c.authTokenFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['authTokenFile'],
        message: 'authentication is on: give --authTokenFile (create one with `molt-failback replicator make-token --out FILE`) or, for tests only, --disableAuthentication',
      });
    }
    if (c.logFormat === 'text') {
      ctx.addIssue({ code: 'custom', path: ['logFormat'], message: 'text is not supported by molt-failback: logs are always JSON lines (like --logFormat fluent)' });
    }
    if (c.stagingConn === undefined) {
      try {
        if (parseConn(c.targetConn, 'targetConn').kind !== 'postgres') {
          ctx.addIssue({ code: 'custom', path: ['stagingConn'], message: 'is required when targetConn is not a postgres:// URL (staging speaks the pg protocol: CockroachDB or PostgreSQL)' });
        }
      } catch {
        // targetConn's own refinement reports the problem.
      }
    } else {
      try {
        if (parseConn(c.stagingConn, 'stagingConn').kind !== 'postgres') {
          ctx.addIssue({ code: 'custom', path: ['stagingConn'], message: 'must be a postgres:// or postgresql:// URL (CockroachDB or PostgreSQL)' });
        }
      } catch {
        // reported by the field refinement
      }
    }
  });

export type EngineConfig = z.infer<typeof EngineConfigSchema>;

/**
 * Builds a validated, frozen EngineConfig from explicit values (flags style) plus defaults; env is only
 * read when passed. Throws one AppError listing every problem.
 */
export function parseEngineConfig(values: Record<string, unknown>, options: Omit<CollectOptions, 'flags'> = {}): Readonly<EngineConfig> {
  // Programmatic callers name env-only settings (the test hook) by key too.
  const defs = ENGINE_SETTINGS.map((d) => ({ ...d, flag: d.key }));
  return loadConfig(EngineConfigSchema, defs, { ...options, flags: values }).config;
}

/**
 * MOLT Replicator flags of `replicator start` that molt-failback does not implement. They are accepted
 * by the parser so the user gets this explanation instead of "unknown flag" (or, worse, silence).
 */
export const UNSUPPORTED_MOLT_FLAGS: readonly { name: string; kind: 'string' | 'boolean'; reason: string }[] = [
  { name: 'userscript', kind: 'string', reason: 'userscripts (TypeScript hooks) are not implemented; transform data on the target instead' },
  { name: 'immediate', kind: 'boolean', reason: 'the engine always stages and applies whole resolved windows (consistent mode)' },
  { name: 'bestEffortOnly', kind: 'boolean', reason: 'the engine always applies consistently (whole source transactions, in resolved windows)' },
  { name: 'bestEffortWindow', kind: 'string', reason: 'there is no best-effort mode; the engine is always consistent' },
  { name: 'assumeIdempotent', kind: 'boolean', reason: 'duplicates are always removed by the staging key; nothing to switch off' },
  { name: 'discard', kind: 'boolean', reason: 'discard mode is not implemented' },
  { name: 'discardDelay', kind: 'string', reason: 'discard mode is not implemented' },
  { name: 'limitLookahead', kind: 'string', reason: 'windows are bounded by --scanSize instead' },
  { name: 'dlqTableName', kind: 'string', reason: 'there is no dead-letter queue: failing windows stay staged and are retried, and health turns unhealthy' },
  { name: 'timestampLimit', kind: 'string', reason: 'transactions are bounded by --scanSize instead' },
  { name: 'taskGracePeriod', kind: 'string', reason: 'use --gracePeriod' },
  { name: 'retireOffset', kind: 'string', reason: 'applied rows are deleted from staging as soon as their window is marked applied; re-sends below the checkpoint are dropped on arrival' },
  { name: 'ndjsonBufferSize', kind: 'string', reason: 'only the webhook sink is served (no cloud-storage ndjson paths)' },
  { name: 'enableCheckpointStream', kind: 'boolean', reason: 'instances poll staging every --flushPeriod; there is no checkpoint changefeed' },
  { name: 'disableCheckpointStream', kind: 'boolean', reason: 'instances always poll staging every --flushPeriod' },
  { name: 'stageMarkAppliedLimit', kind: 'string', reason: 'windows are bounded by --scanSize' },
  { name: 'stageSanityCheckPeriod', kind: 'string', reason: 'not implemented' },
  { name: 'stageSanityCheckWindow', kind: 'string', reason: 'not implemented' },
  { name: 'stageUnappliedPeriod', kind: 'string', reason: 'the unapplied count is exported continuously as failback_staged_unapplied_mutations' },
  { name: 'stageDisableCreateTableReaderIndex', kind: 'boolean', reason: 'the staging layout needs no reader index' },
  { name: 'stageMode', kind: 'string', reason: 'there is one staging layout' },
  { name: 'metricsSnapshotPeriod', kind: 'string', reason: 'metric snapshots are not implemented; scrape /_/varz' },
  { name: 'metricsSnapshotRetentionTime', kind: 'string', reason: 'metric snapshots are not implemented' },
  { name: 'metricsSnapshotRetentionSize', kind: 'string', reason: 'metric snapshots are not implemented' },
  { name: 'metricsSnapshotCompression', kind: 'string', reason: 'metric snapshots are not implemented' },
  { name: 'dataDir', kind: 'string', reason: 'the engine keeps no local data' },
  { name: 'stagingJitterTime', kind: 'string', reason: 'connection lifetimes are not jittered' },
  { name: 'targetIdleTime', kind: 'string', reason: 'target pool tuning beyond --targetMaxPoolSize is not implemented' },
  { name: 'targetJitterTime', kind: 'string', reason: 'target pool tuning beyond --targetMaxPoolSize is not implemented' },
  { name: 'targetMaxLifetime', kind: 'string', reason: 'target pool tuning beyond --targetMaxPoolSize is not implemented' },
  { name: 'targetStatementCacheSize', kind: 'string', reason: 'statements are not cached as prepared statements' },
];

/** Parses --sourceKeyColumns 'table=col1,col2;table2=colA' into lower-cased table -> column names. */
export function parseSourceKeyColumns(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const entry of text.split(';')) {
    const e = entry.trim();
    if (e === '') continue;
    const eq = e.indexOf('=');
    if (eq <= 0) throw new Error(`sourceKeyColumns entry "${e}" must look like table=col1,col2`);
    const table = e.slice(0, eq).trim();
    const cols = e
      .slice(eq + 1)
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '');
    if (table === '' || cols.length === 0) throw new Error(`sourceKeyColumns entry "${e}" must name a table and at least one column`);
    const key = table.toLowerCase();
    if (out.has(key)) throw new Error(`sourceKeyColumns names table "${table}" twice`);
    out.set(key, cols);
  }
  return out;
}

/** Normalises the staging schema: one part gets ".public" (as MOLT Replicator does). */
export function stagingSchemaParts(text: string): { database: string; schema: string } {
  const parts = text.split('.');
  return { database: parts[0] as string, schema: parts[1] ?? 'public' };
}

/** Runtime values derived from an EngineConfig (durations in ms). */
export interface EngineTimings {
  flushPeriodMs: number;
  quiescentPeriodMs: number;
  applyTimeoutMs: number;
  retryInitialBackoffMs: number;
  retryMaxBackoffMs: number;
  schemaRefreshMs: number;
  gracePeriodMs: number;
  httpResponseTimeoutMs: number;
  healthCheckTimeoutMs: number;
  stagingIdleMs: number;
  stagingMaxLifetimeMs: number;
}

export function engineTimings(c: EngineConfig): EngineTimings {
  return {
    flushPeriodMs: Math.max(10, parseDuration(c.flushPeriod)),
    quiescentPeriodMs: Math.max(10, parseDuration(c.quiescentPeriod)),
    applyTimeoutMs: Math.max(100, parseDuration(c.applyTimeout)),
    retryInitialBackoffMs: parseDuration(c.retryInitialBackoff),
    retryMaxBackoffMs: parseDuration(c.retryMaxBackoff),
    schemaRefreshMs: parseDuration(c.schemaRefresh),
    gracePeriodMs: parseDuration(c.gracePeriod),
    httpResponseTimeoutMs: Math.max(1000, parseDuration(c.httpResponseTimeout)),
    healthCheckTimeoutMs: Math.max(100, parseDuration(c.healthCheckTimeout)),
    stagingIdleMs: parseDuration(c.stagingIdleTime),
    stagingMaxLifetimeMs: parseDuration(c.stagingMaxLifetime),
  };
}

/**
 * MOLT Replicator documents that parallelism is held to 80% of --targetMaxPoolSize, leaving connections
 * for health checks and introspection. Rounded down, at least 1.
 */
export function effectiveParallelism(c: Pick<EngineConfig, 'parallelism' | 'targetMaxPoolSize'>): number {
  return Math.max(1, Math.min(c.parallelism, Math.floor(c.targetMaxPoolSize * 0.8)));
}
