/**
 * sink/ is the webhook intake: path routing (the target schema from the first N path segments), bearer
 * token checks, body limits and decompression, parsing of CockroachDB's webhook JSON into Mutations with
 * their raw text kept exact, and the intake rules (schema validation, backpressure, dropping re-sends
 * below the checkpoint, durable staging before 200). It must not apply anything to the target, decide
 * apply order, or contain staging SQL: it reaches staging and the catalog only through the ports in
 * ingest.ts.
 */
export { createSinkHandler, sendText, loggablePath, type SinkOptions, type PathDialect } from './handler.js';
export { Ingestor, type IngestDeps, type IngestResult, type CatalogPort, type StagePort, type ProgressPort } from './ingest.js';
export { TokenAuth, parseTokenFile, type AuthMode } from './auth.js';
export { parseWebhookBody, parseWebhookBuffer, topicTable, PayloadError, type ParsedBody } from './payload.js';
export { parseDataPath, type PathResult } from './path.js';
export { readBody, BodyError, ByteBudget } from './body.js';
export { ByteJsonScanner, JsonScanError } from './scan.js';
