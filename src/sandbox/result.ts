/**
 * The sandbox's result as plain JSON (what `sandbox --json` prints): the verdict with per-table row
 * counts from verify, what the workload did, what the engine applied and how fast, the wizard's steps,
 * and where the time went. It never holds a password (connection strings are redacted).
 */
import type { StepOutcome } from '../steps/runner.js';
import type { FlowSummary } from './flow.js';
import type { TransactionKind } from './transactions.js';

export interface TableResult {
  readonly table: string;
  readonly verdict: 'equal' | 'mismatch';
  readonly crdbRows: number | null;
  readonly targetRows: number | null;
  readonly differences: number;
}

export interface KeptEnvironment {
  /** Redacted where a password exists; the embedded databases have none. */
  readonly crdb: string;
  readonly crdbBacking: string;
  readonly target: string;
  readonly staging: string;
  readonly stagingSchema: string;
  readonly stateFile: string;
  readonly stateDir: string;
  readonly metricsUrl: string;
  readonly engineLog: string;
  readonly commands: readonly string[];
}

export interface SandboxResult {
  readonly verdict: 'match' | 'mismatch';
  readonly seed: number;
  readonly target: { readonly kind: 'postgres' | 'mariadb'; readonly description: string; readonly version: string };
  /** What the sandbox stands in with, instead of the real thing. */
  readonly simulated: readonly string[];
  readonly tables: readonly TableResult[];
  readonly seedRows: Readonly<Record<string, number>>;
  readonly workload: {
    readonly transactions: number;
    readonly statements: number;
    readonly inserts: number;
    readonly updates: number;
    readonly deletes: number;
    readonly byKind: Readonly<Partial<Record<TransactionKind, number>>>;
    readonly durationMs: number;
    readonly transactionsPerSecond: number;
  };
  readonly replication: FlowSummary & {
    /** cluster_logical_timestamp() taken after the workload stopped; the engine applied up to it. */
    readonly caughtUpTo: string;
    readonly catchUpMs: number;
  };
  readonly wizard: { readonly steps: ReadonlyArray<{ readonly id: string; readonly outcome: StepOutcome; readonly durationMs: number }> };
  readonly timings: {
    readonly databasesMs: number;
    readonly schemaMs: number;
    readonly wizardMs: number;
    readonly workloadMs: number;
    readonly catchUpMs: number;
    readonly verifyMs: number;
    readonly cleanupMs?: number;
    readonly totalMs: number;
  };
  readonly cleanup?: { readonly ok: boolean; readonly failed: ReadonlyArray<{ readonly what: string; readonly error: string }> };
  readonly kept?: KeptEnvironment;
}
