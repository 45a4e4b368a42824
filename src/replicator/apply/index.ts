/**
 * apply/: turns ApplyPlans (built by resolve/) into one target transaction each, through the dialect's
 * TargetPool, and decides what a failure means: retry with exponential backoff and jitter
 * (serialization failures, deadlocks, lost connections), defer (foreign-key violations: the caller
 * waits --quiescentPeriod and tries again) or fatal (anything else, schema mismatches included). It
 * also caches target introspection, maps delete keys onto the target's primary-key order, and orders
 * the rows of a table that references itself (parents first, children first for deletes), which needs
 * the row images and the target's rows.
 * It must not contain SQL or import a database driver (that is dialects/), read staging, or decide
 * what to apply or in which order tables go (that is resolve/).
 */
export { Applier, type ApplierOptions, type ApplyOutcome } from './applier.js';
export { ApplyError, type ApplyErrorOptions } from './apply-error.js';
export { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';
export { KeyOrders, type KeyOrderMemory } from './key-order.js';
