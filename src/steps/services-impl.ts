/**
 * The real StepServices: lazily opened pg pools for CockroachDB and staging (shared when they are the
 * same connection), target pools through the dialects, an undici HTTP client with timeouts, process
 * control for detached children with pid files, and an abortable sleep. Nothing here logs a
 * connection string or a password: errors are rebuilt from redacted text.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { Agent, request } from 'undici';
import { environment } from '../lib/config.js';
import { redactConn, redactText } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { TargetPool } from '../replicator/types.js';
import type { FailbackConfig } from './config.js';
import { writeFileAtomic } from './lib/files.js';
import { selfCommand } from './lib/self.js';
import { openTargetPool } from './lib/target.js';
import type { HttpClient, HttpResponse, ProcessControl, SqlRows, SqlSession, StepServices } from './services.js';

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN']);

/** A pg-protocol session over a lazily created pool; errors carry redacted text only. */
export class PgSession implements SqlSession {
  private pool?: pg.Pool;

  constructor(
    private readonly conn: string,
    private readonly what: string,
    private readonly log: Logger,
    private readonly setting: string,
    private readonly connectTimeoutMs = 15_000,
  ) {}

  private getPool(): pg.Pool {
    if (!this.pool) {
      this.pool = new pg.Pool({ connectionString: this.conn, max: 4, connectionTimeoutMillis: this.connectTimeoutMs, application_name: 'molt-failback', idleTimeoutMillis: 10_000 });
      // An idle client losing its connection must not crash the process; the next query reconnects.
      this.pool.on('error', (err) => this.log.warn({ err: redactText(err.message) }, `${this.what} connection dropped`));
    }
    return this.pool;
  }

  async query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlRows<T>> {
    const started = performance.now();
    // Only the statement's first words: a CREATE CHANGEFEED carries certificates and the auth header.
    const logged = () => ({ db: this.what, statement: sql.trim().split(/\s+/).slice(0, 4).join(' '), ms: Math.round(performance.now() - started) });
    try {
      const res = await this.getPool().query(sql, params as unknown[] | undefined);
      if (this.log.isLevelEnabled('debug')) this.log.debug({ ...logged(), rows: res.rowCount ?? res.rows.length }, 'sql');
      return { rows: res.rows as T[], rowCount: res.rowCount ?? res.rows.length };
    } catch (err) {
      const wrapped = this.wrap(err);
      if (this.log.isLevelEnabled('debug')) this.log.debug({ ...logged(), err: wrapped.message }, 'sql failed');
      throw wrapped;
    }
  }

  private wrap(err: unknown): Error {
    const e = err as Error & { code?: string };
    const message = redactText(e.message ?? String(err));
    if ((e.code && CONNECT_ERRORS.has(e.code)) || /timeout expired|Connection terminated/i.test(message)) {
      return new AppError('UNREACHABLE', `${this.what} at ${redactConn(this.conn)} is not reachable: ${message}`, {
        exitCode: ExitCode.UNREACHABLE,
        actions: [`Check that ${this.what} is running and that ${this.setting} names the right host and port.`],
      });
    }
    if (e.code === '28P01' || e.code === '28000') {
      return new AppError('AUTH_FAILED', `${this.what} refused the login for ${redactConn(this.conn)}: ${message}`, {
        exitCode: ExitCode.UNREACHABLE,
        actions: [`Check the user and password in ${this.setting} (percent-encode special characters: molt-failback escape-password).`],
      });
    }
    // Keep the SQLSTATE for callers that classify errors; the message is already redacted.
    const out = new Error(message) as Error & { code?: string };
    out.code = e.code;
    return out;
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.end();
  }
}

export class UndiciHttp implements HttpClient {
  async get(url: string, options: { timeoutMs?: number; headers?: Record<string, string>; ca?: string } = {}): Promise<HttpResponse> {
    const timeoutMs = options.timeoutMs ?? 5000;
    const agent = options.ca ? new Agent({ connect: { ca: options.ca } }) : undefined;
    try {
      const res = await request(url, {
        method: 'GET',
        headers: options.headers,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        ...(agent ? { dispatcher: agent } : {}),
      });
      const body = await res.body.text();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
      return { status: res.statusCode, body, headers };
    } catch (err) {
      const e = err as Error & { code?: string; cause?: { code?: string } };
      const code = e.code ?? e.cause?.code;
      const reason =
        code === 'ECONNREFUSED' ? 'connection refused' : e.name === 'TimeoutError' || /timeout/i.test(String(code)) ? `no answer within ${timeoutMs}ms` : redactText(e.message);
      const out = new Error(`GET ${url}: ${reason}`) as Error & { code?: string };
      out.code = code === 'ECONNREFUSED' ? 'ECONNREFUSED' : code;
      throw out;
    } finally {
      await agent?.close();
    }
  }
}

/** True for a zombie (exited, not yet reaped): signal 0 still succeeds on those, but they are gone. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export class NodeProcesses implements ProcessControl {
  isAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch (err) {
      // EPERM: it exists but belongs to someone else.
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    return !isZombie(pid);
  }

  signal(pid: number, signal: NodeJS.Signals): boolean {
    // An exited child not yet reaped still accepts signals; it is gone all the same.
    if (isZombie(pid)) return false;
    try {
      process.kill(pid, signal);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') return false;
      if (code === 'EPERM') {
        throw new AppError('NOT_PERMITTED', `Not allowed to send ${signal} to process ${pid} (it belongs to another user).`, {
          actions: [`Stop it as its owner: sudo kill -TERM ${pid}.`],
        });
      }
      throw err;
    }
  }

  async spawnDetached(command: string, args: readonly string[], options: { logFile: string; pidFile: string; env?: Record<string, string>; cwd?: string }): Promise<number> {
    mkdirSync(dirname(options.logFile), { recursive: true, mode: 0o700 });
    const out = openSync(options.logFile, 'a', 0o600);
    try {
      // The wizard's own settings stay behind: MOLT_FAILBACK_* may hold secrets the child does not need
      // (an admin connection), and a stray MOLT_FAILBACK_REPLICATOR_* would change the engine unseen by
      // its recorded fingerprint. The child gets exactly what options.env passes.
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(environment())) if (v !== undefined && !k.startsWith('MOLT_FAILBACK_')) env[k] = v;
      // detached: its own process group, so the wizard's Ctrl-C does not reach it and it outlives us.
      const child = spawn(command, [...args], { detached: true, stdio: ['ignore', out, out], env: { ...env, ...options.env }, cwd: options.cwd });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      const pid = child.pid as number;
      writeFileAtomic(options.pidFile, `${pid}\n`, 0o600);
      child.unref();
      return pid;
    } finally {
      closeSync(out);
    }
  }

  selfCommand(): { command: string; args: string[] } {
    return selfCommand();
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : undefined);
}

/** Builds the services for a run; nothing connects until first use. */
export function createServices(config: FailbackConfig, log: Logger): StepServices {
  const crdb = new PgSession(config.crdb.conn, 'CockroachDB', log, 'crdb.conn (--crdb-conn)');
  const staging = config.staging.conn && config.staging.conn !== config.crdb.conn ? new PgSession(config.staging.conn, 'the staging database', log, 'staging.conn (--staging-conn)') : crdb;
  let target: Promise<TargetPool> | undefined;
  let admin: Promise<TargetPool> | undefined;
  const opened: Promise<TargetPool>[] = [];
  const open = (conn: string, setting: string): Promise<TargetPool> => {
    const p = openTargetPool(conn, log).catch((err: unknown) => {
      throw new AppError('UNREACHABLE', `The target at ${redactConn(conn)} could not be opened: ${redactText((err as Error).message)}`, {
        exitCode: ExitCode.UNREACHABLE,
        cause: err,
        actions: [`Check that the target database is running and that ${setting} is right.`],
      });
    });
    opened.push(p);
    return p;
  };
  return {
    crdb: async () => crdb,
    staging: async () => staging,
    target: () => (target ??= open(config.target.conn, 'target.conn (--target-conn)')),
    targetAdmin: async () => (config.target.adminConn ? (admin ??= open(config.target.adminConn, 'target.adminConn (--target-admin-conn)')) : undefined),
    http: new UndiciHttp(),
    processes: new NodeProcesses(),
    sleep: abortableSleep,
    now: () => Date.now(),
    async close() {
      const pools = opened.splice(0);
      target = undefined;
      admin = undefined;
      await Promise.allSettled([crdb.close(), staging === crdb ? Promise.resolve() : (staging as PgSession).close(), ...pools.map(async (p) => (await p).close())]);
    },
  };
}
