/**
 * stage/ owns the staging database (CockroachDB in production, PostgreSQL in tests, over the pg
 * protocol): its tables and SQL, durable idempotent intake of mutations and resolved timestamps, the
 * applied checkpoint, apply leases, the reads the sequencer needs, retirement of applied rows, and the
 * operator helpers (inspect, clean, drop). It must not touch the target database or decide apply order:
 * that is resolve/ and apply/.
 */
export { StagingStore, type StageRow, type PutResult, type ResolvedOutcome } from './store.js';
export { openStagingPool, withDatabase, stagingError, type StagingPool, type StagingPoolOptions } from './connect.js';
export { inspectStaging, cleanStaging, dropStagingSchema, purgeTargetSchema, type PurgeResult, type StagingReport, type StagingTargetReport, type CleanOptions } from './admin.js';
export { stagingSql, ident, TABLES, STAGING_VERSION } from './sql.js';
