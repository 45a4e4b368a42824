/**
 * Helpers several steps share: the CockroachDB tables to fail back (resolved in the catalog), the
 * sink location and TLS parameters for the changefeed, and a polling loop that honours the abort
 * signal and shows progress. Each helper is read-only.
 */
import { readFileSync } from 'node:fs';
import { AppError, ExitCode } from '../../lib/errors.js';
import type { TargetSchema } from '../../replicator/types.js';
import type { FailbackConfig } from '../config.js';
import type { SqlSession } from '../services.js';
import type { StepContext } from '../step.js';
import { findSourceTable, type SourceTable } from './crdb.js';
import { bindPort } from './engine.js';
import { outputsOf, PreflightOutputs, type TlsOutputs } from './outputs.js';
import { webhookPath, type SinkLocation, type SinkTls } from './sink-uri.js';
import { dialectForConn, targetSchemaFor } from './target.js';

/** Resolves every configured table in CockroachDB's catalog; names the missing ones in one error. */
export async function resolveSourceTables(session: SqlSession, config: Pick<FailbackConfig, 'tables'>): Promise<SourceTable[]> {
  const found: SourceTable[] = [];
  const missing: string[] = [];
  for (const t of config.tables) {
    const s = await findSourceTable(session, t);
    if (s) found.push(s);
    else missing.push(t);
  }
  if (missing.length > 0) {
    throw new AppError('TABLE_NOT_FOUND', `These tables do not exist on CockroachDB: ${missing.join(', ')}.`, {
      actions: ['Check --tables (names as on CockroachDB, unqualified or schema.table) and the database in --crdb-conn.'],
    });
  }
  return found;
}

/** The source tables, from preflight's record when it has one (saves a catalog round trip per table). */
export async function sourceTables(ctx: StepContext): Promise<SourceTable[]> {
  const pre = outputsOf(ctx, 'preflight', PreflightOutputs);
  if (pre && pre.tables.length === ctx.config.tables.length) {
    return pre.tables.map((key) => {
      const dot = key.indexOf('.');
      return { schema: key.slice(0, dot), name: key.slice(dot + 1), key };
    });
  }
  return resolveSourceTables(await ctx.services.crdb(), ctx.config);
}

export function targetOf(config: FailbackConfig): { dialect: ReturnType<typeof dialectForConn>; schema: TargetSchema } {
  const dialect = dialectForConn(config.target.conn);
  return { dialect, schema: targetSchemaFor(config, dialect) };
}

/** Where CockroachDB sends the changefeed: replicator.host, the webhook port, the dialect's path. */
export function sinkLocation(config: FailbackConfig): SinkLocation {
  const { dialect, schema } = targetOf(config);
  return { host: config.replicator.host, port: bindPort(config), path: webhookPath(dialect.name, schema) };
}

/** The PEM texts the sink URI carries, read from prepare-tls's files (kept in memory only). */
export function sinkTls(tls: TlsOutputs): SinkTls {
  const read = (path: string | undefined, what: string) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new AppError('TLS_FILE_MISSING', `The ${what} recorded by prepare-tls (${path}) cannot be read: ${(err as Error).message}.`, {
        actions: ['Run molt-failback step prepare-tls again.'],
      });
    }
  };
  return {
    caCertPem: read(tls.caCert, 'CA certificate'),
    clientCertPem: read(tls.clientCert, 'client certificate'),
    clientKeyPem: read(tls.clientKey, 'client key'),
  };
}

export interface PollOptions {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * Calls `probe` every intervalMs until it returns a value, the timeout passes (returns undefined) or
 * the run is aborted (throws AbortError). Each probe may report progress itself.
 */
export async function poll<T>(ctx: Pick<StepContext, 'services' | 'signal'>, options: PollOptions, probe: (elapsedMs: number) => Promise<T | undefined>): Promise<T | undefined> {
  const start = ctx.services.now();
  for (;;) {
    ctx.signal.throwIfAborted();
    const elapsed = ctx.services.now() - start;
    const value = await probe(elapsed);
    if (value !== undefined) return value;
    if (ctx.services.now() - start >= options.timeoutMs) return undefined;
    await ctx.services.sleep(Math.min(options.intervalMs, Math.max(0, options.timeoutMs - (ctx.services.now() - start)) || options.intervalMs), ctx.signal);
  }
}

export const isoNow = (ctx: Pick<StepContext, 'services'>): string => new Date(ctx.services.now()).toISOString();

export function timeoutError(code: string, message: string, actions: string[]): AppError {
  return new AppError(code, message, { exitCode: ExitCode.TIMEOUT, actions });
}
