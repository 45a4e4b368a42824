/**
 * resolve/ is the sequencer: it decides which window of staged mutations is safe to apply for each
 * target schema (between the applied checkpoint and the newest resolved timestamp, whole source
 * transactions only), in what order (collapse per key, upserts parent-first, deletes child-first, chunked
 * to --flushSize), and drives the apply loop (lease, apply, then mark applied). It must not contain SQL
 * or import a database driver: staging and the target are reached only through the ports in ports.ts,
 * so everything here is unit-testable with fakes.
 */
export { analyzeForeignKeys, type FkGraph } from './fk.js';
export { buildPlans, type PlanInput, type PlanOutput } from './plan.js';
export { chooseWindow, type WindowChoice } from './window.js';
export { LeaseKeeper, DEFAULT_LEASE_TIMINGS, type LeaseTimings } from './lease.js';
export { SchemaWorker, type WorkerSettings, type WorkerHealth } from './worker.js';
export { ApplyCoordinator, type CoordinatorSettings, type SchemaStatus } from './coordinator.js';
export { Semaphore, Wakeup, sleep } from './sync.js';
export { errorClassOf, type StagedRow, type SchemaProgress, type WindowStore, type LeaseStore, type ApplierPort, type ApplyResult } from './ports.js';
