/**
 * The engine's composition root and public API: the only module other parts of molt-failback import.
 * startEngine() wires staging (stage/), the sequencer (resolve/), the target (dialects/ + apply/), the
 * webhook sink (sink/), metrics and the listeners, and returns a handle to stop it. Also here: the
 * engine settings, bearer-token helpers, and staging helpers for the wizard.
 *
 * Startup rules: bad settings or staging unreachable -> throw (the command exits 1 with the reason); the
 * target unreachable -> start anyway, report unhealthy, stage webhook data, apply when it returns.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { AppError, ExitCode } from '../lib/errors.js';
import { withTimeout } from '../lib/concurrency.js';
import { formatHlc, hlcDate, type Hlc } from '../lib/hlc.js';
import { redactConn, redactText } from '../lib/conn.js';
import type { Logger } from '../lib/log.js';
import { Applier, type KeyOrderMemory } from './apply/index.js';
import { dialectForConn, openTarget } from './dialects/index.js';
import { effectiveParallelism, engineTimings, parseSourceKeyColumns, type EngineConfig } from './config.js';
import { EngineMetrics } from './metrics.js';
import { ApplyCoordinator, type ApplierPort, type ApplyResult } from './resolve/index.js';
import { startServers, loadTls, type Servers } from './server.js';
import { createSinkHandler, Ingestor, TokenAuth } from './sink/index.js';
import { openStagingPool, StagingStore, stagingError } from './stage/index.js';
import type { ApplyPlan, SchemaInfo, TargetPool, TargetSchema } from './types.js';

export { ENGINE_SETTINGS, EngineConfigSchema, UNSUPPORTED_MOLT_FLAGS, parseEngineConfig, engineEnvName, effectiveParallelism, type EngineConfig, type EngineSettingDef } from './config.js';
export { inspectStaging, cleanStaging, dropStagingSchema, purgeTargetSchema, type PurgeResult, type StagingReport, type StagingTargetReport, type CleanOptions } from './stage/index.js';
export { dialectByName, dialectForConn, openTarget } from './dialects/index.js';
export { Applier, ApplyError } from './apply/index.js';
export type * from './types.js';
export { Registry };

/** A running engine. */
export interface Engine {
  /** Base URL of the webhook sink (append /db/schema, /db or /SCHEMA). */
  readonly webhookUrl: string;
  /** Prometheus endpoint (/_/varz). */
  readonly metricsUrl: string;
  readonly healthUrl: string;
  readonly diagUrl: string;
  /** Port of the webhook listener (useful with --bindAddr :0). */
  readonly port: number;
  /** Re-reads the bearer-token file (what SIGHUP does). */
  reloadTokens(): void;
  /** Stops within --gracePeriod: stop accepting, finish or abandon the window in flight, release leases. Idempotent. */
  stop(): Promise<void>;
}

export interface EngineDeps {
  readonly log: Logger;
  /** Registry for the engine's metrics; a fresh one when absent (never prom-client's global registry). */
  readonly registry?: Registry;
}

/** A new random bearer token (256 bits, base64url). */
export function mintToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Writes a token file readable only by the owner (0600), atomically. */
export function writeTokenFile(path: string, token: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

let cachedVersion: string | undefined;
/** The package version (src/replicator and dist/replicator are both two levels below package.json). */
export function engineVersion(): string {
  if (cachedVersion === undefined) {
    try {
      cachedVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

/** Waits for p at most ms (never rejects). */
async function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

const hlcJson = (h: Hlc) => (h.nanos === 0n && h.logical === 0 ? null : { hlc: formatHlc(h), wallTime: hlcDate(h).toISOString() });

/**
 * The target side behind one object: opens the pool (retrying in the background while the target is
 * unreachable) and the Applier on it. Until then every call fails with a retry-class error, which the
 * sink treats as "unverifiable" and the apply loop as "retry later".
 */
class TargetSide implements ApplierPort {
  private pool?: TargetPool;
  private applier?: Applier;
  private opening?: Promise<void>;
  private lastError = 'not connected yet';
  private closed = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly conn: string,
    private readonly config: EngineConfig,
    private readonly log: Logger,
    private readonly keyOrderMemory?: KeyOrderMemory,
  ) {}

  open(): Promise<void> {
    this.opening ??= (async () => {
      const t = engineTimings(this.config);
      try {
        const pool = await openTarget(this.conn, { maxPoolSize: this.config.targetMaxPoolSize, log: this.log, applicationName: 'molt-failback', maxRowsPerStatement: this.config.flushSize });
        if (this.closed) {
          await pool.close();
          return;
        }
        this.pool = pool;
        this.applier = new Applier({
          pool,
          log: this.log,
          maxRetries: this.config.maxRetries,
          retryInitialBackoffMs: t.retryInitialBackoffMs,
          retryMaxBackoffMs: t.retryMaxBackoffMs,
          retryMultiplier: this.config.retryMultiplier,
          sourceKeyColumns: this.config.sourceKeyColumns ? parseSourceKeyColumns(this.config.sourceKeyColumns) : undefined,
          keyOrderMemory: this.keyOrderMemory,
          schemaRefreshMs: t.schemaRefreshMs,
        });
      } catch (err) {
        this.lastError = redactText((err as Error).message);
        this.log.warn({ err: this.lastError }, 'cannot open the target yet; retrying in the background');
        this.opening = undefined;
        if (!this.closed) {
          this.retryTimer = setTimeout(() => void this.open(), 2000);
          this.retryTimer.unref();
        }
      }
    })();
    return this.opening;
  }

  private ready(): Applier {
    if (!this.applier) {
      const err = new Error(`target unavailable: ${this.lastError}`) as Error & { errorClass: string };
      err.errorClass = 'retry';
      throw err;
    }
    return this.applier;
  }

  async schema(target: TargetSchema, options?: { refresh?: boolean }): Promise<SchemaInfo | undefined> {
    return this.ready().schema(target, options ?? {});
  }

  async apply(plan: ApplyPlan, signal?: AbortSignal): Promise<ApplyResult> {
    return this.ready().apply(plan, signal);
  }

  async ping(): Promise<void> {
    if (!this.pool) throw new Error(`target unavailable: ${this.lastError}`);
    await this.pool.ping();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.opening;
    await this.applier?.close();
    await this.pool?.close().catch(() => undefined);
  }
}

/** Starts an engine. See the module comment for what fails startup. */
export async function startEngine(config: EngineConfig, deps: EngineDeps): Promise<Engine> {
  const log = config.verbose >= 2 ? deps.log.child({}, { level: 'trace' }) : config.verbose >= 1 ? deps.log.child({}, { level: 'debug' }) : deps.log;
  const registry = deps.registry ?? new Registry();
  const version = engineVersion();
  const metrics = new EngineMetrics(registry, { version });
  const timings = engineTimings(config);
  const startedAt = new Date();
  const parallelism = effectiveParallelism(config);
  if (parallelism < config.parallelism) log.info({ parallelism: config.parallelism, effective: parallelism, targetMaxPoolSize: config.targetMaxPoolSize }, 'parallelism held to 80% of --targetMaxPoolSize');

  const auth = new TokenAuth(config.disableAuthentication ? undefined : config.authTokenFile, log);
  try {
    auth.load();
  } catch (err) {
    throw new AppError('TOKEN_FILE', `cannot read --authTokenFile ${config.authTokenFile}: ${(err as Error).message}`, {
      exitCode: ExitCode.FAILED,
      actions: ['Create one with: molt-failback replicator make-token --out <file>'],
    });
  }
  const tls = await loadTls(config);
  const dialect = dialectForConn(config.targetConn);

  const stagingConn = config.stagingConn ?? config.targetConn;
  const sp = await openStagingPool(stagingConn, config.stagingSchema, {
    create: config.stagingCreateSchema,
    maxPoolSize: config.stagingMaxPoolSize,
    idleMs: timings.stagingIdleMs,
    maxLifetimeMs: timings.stagingMaxLifetimeMs,
    log,
  });
  const store = new StagingStore(sp.pool, sp.schema, { writeParallelism: config.stagingWriteParallelism });
  const target = new TargetSide(config.targetConn, config, log, { load: () => store.loadKeyOrders(), save: (o) => store.saveKeyOrder(o) });
  let coordinator: ApplyCoordinator | undefined;
  let servers: Servers | undefined;
  try {
    try {
      await store.init();
    } catch (err) {
      throw stagingError(err, stagingConn, sp.database, `create the staging tables in ${sp.name}`);
    }
    await target.open();
    coordinator = new ApplyCoordinator({
      store,
      applier: target,
      log,
      metrics,
      settings: {
        scanSize: config.scanSize,
        flushSize: config.flushSize,
        collapse: config.collapseMutations,
        parallelApplies: config.enableParallelApplies,
        quiescentMs: timings.quiescentPeriodMs,
        applyTimeoutMs: timings.applyTimeoutMs,
        pollMs: timings.flushPeriodMs,
        retireEveryMs: 300_000,
        parallelism,
        queueSize: config.targetApplyQueueSize,
        countEveryMs: Math.max(2000, timings.flushPeriodMs),
      },
      afterCommit: config.testCrashAfterCommit
        ? () => {
            // Test-only hook (MOLT_FAILBACK_REPLICATOR_TEST_CRASH_AFTER_COMMIT): die between the target
            // commit and the staging mark, the window MOLT Replicator gets wrong.
            process.stderr.write('TEST HOOK: SIGKILL after target commit, before marking the window applied\n');
            process.kill(process.pid, 'SIGKILL');
          }
        : undefined,
    });
    try {
      await coordinator.start();
    } catch (err) {
      throw stagingError(err, stagingConn, sp.database, 'read the staging checkpoints');
    }
    const co = coordinator;

    const ingest = new Ingestor({ catalog: target, stage: store, progress: co, metrics, log, timeoutMs: timings.httpResponseTimeoutMs });
    const sink = createSinkHandler({ dialect, auth, ingest, metrics, log, verbose: config.verbose, maxBodyBytes: config.maxBodyBytes });

    const warnings: string[] = [];
    if (auth.mode === 'disabled') warnings.push('authentication is disabled: any caller may write to the target database');
    const health = async () => {
      const problems: string[] = [];
      const [s, t] = await Promise.allSettled([withTimeout(store.ping(), timings.healthCheckTimeoutMs, 'staging'), withTimeout(target.ping(), timings.healthCheckTimeoutMs, 'target')]);
      if (s.status === 'rejected') problems.push(`staging unreachable: ${redactText((s.reason as Error).message)}`);
      if (t.status === 'rejected') problems.push(`target unreachable: ${redactText((t.reason as Error).message)}`);
      problems.push(...co.problems());
      return { ok: problems.length === 0, problems, warnings };
    };
    const diag = async () => ({
      engine: 'molt-failback replicator',
      version,
      pid: process.pid,
      startedAt: startedAt.toISOString(),
      bindAddr: config.bindAddr,
      webhookUrl: servers?.main.url,
      metricsAddr: config.metricsAddr ?? null,
      tls: tls.mode,
      mutualTls: tls.clientCa !== undefined,
      auth: auth.mode,
      tokens: auth.tokenCount,
      stagingSchema: sp.name,
      target: redactConn(config.targetConn),
      dialect: dialect.name,
      fingerprint: config.fingerprint ?? null,
      settings: {
        parallelism,
        enableParallelApplies: config.enableParallelApplies,
        collapseMutations: config.collapseMutations,
        flushSize: config.flushSize,
        scanSize: config.scanSize,
        flushPeriod: config.flushPeriod,
        quiescentPeriod: config.quiescentPeriod,
        targetApplyQueueSize: config.targetApplyQueueSize,
        maxBodyBytes: config.maxBodyBytes,
        stagingWriteParallelism: config.stagingWriteParallelism,
        sourceKeyColumns: config.sourceKeyColumns ?? null,
      },
      schemas: co.statuses().map((s) => ({
        schema: s.schema.key,
        path: `/${s.schema.parts.map(encodeURIComponent).join('/')}`,
        applied: hlcJson(s.applied),
        pending: hlcJson(s.resolved),
        backlog: s.backlog,
        leaseHeldHere: s.leaseHeld,
        healthy: s.health.ok,
        ...(s.health.ok ? {} : { problem: s.health.reason }),
      })),
    });

    servers = await startServers({
      bindAddr: config.bindAddr,
      metricsAddr: config.metricsAddr,
      tls,
      httpResponseTimeoutMs: timings.httpResponseTimeoutMs,
      log,
      routes: {
        sink,
        health,
        metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
        diag,
        auth,
      },
    });
    const srv = servers;
    const adminBase = srv.metrics?.url ?? srv.main.url;
    log.info(
      {
        listen: srv.main.url,
        bindAddr: config.bindAddr,
        tls: tls.mode,
        mutualTls: tls.clientCa !== undefined,
        auth: auth.mode === 'disabled' ? 'disabled' : `token file ${config.authTokenFile} (${auth.tokenCount} token${auth.tokenCount === 1 ? '' : 's'})`,
        stagingSchema: sp.name,
        target: redactConn(config.targetConn),
        dialect: dialect.name,
        metrics: `${adminBase}/_/varz`,
        version,
      },
      'replicator listening',
    );
    if (tls.mode === 'none') log.warn('serving PLAIN HTTP without TLS: CockroachDB webhook sinks require https; use --tlsCertificate/--tlsPrivateKey (or --tlsSelfSigned for tests)');
    if (auth.mode === 'disabled') log.warn('authentication disabled, any caller may write to the target database');

    let stopping: Promise<void> | undefined;
    return {
      webhookUrl: srv.main.url,
      metricsUrl: `${adminBase}/_/varz`,
      healthUrl: `${adminBase}/_/healthz`,
      diagUrl: `${adminBase}/_/diag`,
      port: srv.main.port,
      reloadTokens: () => auth.reload(),
      stop() {
        stopping ??= (async () => {
          const deadline = Date.now() + timings.gracePeriodMs;
          const left = () => Math.max(0, deadline - Date.now());
          log.info({ gracePeriod: config.gracePeriod }, 'Interrupted: stopping');
          // Requests only stage (fast): a quarter of the grace period for them, most of the rest for the
          // window in flight, and a last second to release leases and close the pools.
          await srv.close(Math.min(timings.gracePeriodMs / 4, 10_000));
          await co.stop(Math.max(0, left() - 1000));
          // A statement blocked on the target (a lock) would hold pool.end() open; the abandoned
          // transaction is rolled back by the server when the connection goes away with the process.
          await bounded(target.close(), Math.max(200, left() / 2));
          await bounded(sp.pool.end(), Math.max(200, left()));
          log.info('Server shutdown complete');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await servers?.close(0).catch(() => undefined);
    await coordinator?.stop(0).catch(() => undefined);
    await target.close().catch(() => undefined);
    await sp.pool.end().catch(() => undefined);
    throw err;
  }
}
