/**
 * Changefeed delivery: the manager that keeps one runner per running job, the runner that reads
 * stamped events and delivers them with checkpoints and resolved timestamps, the webhook HTTPS
 * client, the body encoder, the Flush batcher and fault injection. It reads and writes only the
 * emulator catalog through store.ts; it never parses SQL.
 */
export { FeedManager, type ManagerDeps } from './manager.js';
export { FaultState, type FaultOptions } from './faults.js';
export { RESTART_BACKOFF_INITIAL_MS, RESTART_BACKOFF_MAX_MS } from './runner.js';
export { encodeMessage, batchBody, resolvedBody, type FeedEvent, type TargetInfo } from './encoder.js';
export { WebhookClient, SinkRequestError, goTransportText } from './webhook.js';
