/**
 * The sandbox: the whole MOLT failback, end to end, on throw-away local databases, for a newcomer's
 * first minute and for the end-to-end tests. It starts embedded databases (the CockroachDB emulator of
 * crdb/ over PGlite, a PGlite or MariaDB target), the runbook's example schema and data, a SIMULATED
 * forward replicator, runs the real wizard and engine, drives a seeded workload, waits for the engine
 * to catch up and verifies every table. It must never be reachable from a real failback: the wizard,
 * the engine and verify know nothing about it, and only `molt-failback sandbox` and tests import it.
 */
export { runSandbox, type SandboxOptions, type SandboxRun } from './run.js';
export { Cleanup, type CleanupReport } from './cleanup.js';
export { printer, renderKept, renderSummary, type Printer } from './render.js';
export type { SandboxResult, KeptEnvironment, TableResult } from './result.js';
export type { TargetKind } from './targets.js';
export { randomSeed, Random } from './random.js';
export { Model, seedRows } from './model.js';
export { nextTransaction, type Transaction, type Statement } from './transactions.js';
export { runWorkload, type WorkloadStats, type WorkloadOptions } from './workload.js';
export { createTableStatements, insertStatements, EXAMPLE_TABLES, type Flavour } from './schema.js';
export { startForwardSimulator, type ForwardSimulator } from './forward/index.js';
export { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded/index.js';
export { clusterTimestamp, waitForApplied, appliedCheckpoints } from './catch-up.js';
