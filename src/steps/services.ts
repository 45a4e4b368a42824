/**
 * What steps may touch, behind one interface so the runner can open connections lazily, share them
 * across steps, and close them all at the end. Implementations: createServices() in services-impl.ts.
 */
import type { TargetPool } from '../replicator/types.js';

export interface SqlRows<T = Record<string, unknown>> {
  rows: T[];
  rowCount: number;
}

/** A pg-protocol session (CockroachDB or the staging database). Numbers come back as text for NUMERIC/INT8. */
export interface SqlSession {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<SqlRows<T>>;
}

export interface HttpResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

export interface HttpClient {
  /** GET with a timeout; rejects on transport errors (connection refused, timeout). */
  get(url: string, options?: { timeoutMs?: number; headers?: Record<string, string>; ca?: string }): Promise<HttpResponse>;
}

export interface ProcessControl {
  /** True when a process with this pid exists (signal 0). */
  isAlive(pid: number): boolean;
  /** Sends a signal; returns false when the process does not exist. */
  signal(pid: number, signal: NodeJS.Signals): boolean;
  /**
   * Starts a detached background process whose stdout and stderr go to `logFile`, writes its pid to
   * `pidFile`, and returns the pid. The child survives the wizard's exit.
   */
  spawnDetached(command: string, args: readonly string[], options: { logFile: string; pidFile: string; env?: Record<string, string>; cwd?: string }): Promise<number>;
  /** Command and leading args that run this CLI (node + bin/run.js), for spawning the engine. */
  selfCommand(): { command: string; args: string[] };
}

export interface StepServices {
  /** CockroachDB (the failback source), opened on first use. */
  crdb(): Promise<SqlSession>;
  /** The staging database (defaults to CockroachDB). */
  staging(): Promise<SqlSession>;
  /** The target as the failback user. */
  target(): Promise<TargetPool>;
  /** The target as an admin, when target.adminConn is configured. */
  targetAdmin(): Promise<TargetPool | undefined>;
  readonly http: HttpClient;
  readonly processes: ProcessControl;
  /** Abortable sleep. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  now(): number;
  /** Closes every connection opened so far. Idempotent. */
  close(): Promise<void>;
}
