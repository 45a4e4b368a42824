/**
 * CREATE CHANGEFEED semantics that need no database: option validation with CockroachDB's texts
 * (options.ts), the webhook sink URI and its TLS parameters (sink-uri.ts), webhook_sink_config
 * (sink-config.ts), job descriptions with secrets redacted. Produces the runtime options a feed
 * stores with its job; it never talks to the backend or the network.
 */
export { validateChangefeed, parseCursorText, ChangefeedError, OPTION_ERROR_CODE, UNCATEGORIZED } from './options.js';
export type { RawOption, ValidatedChangefeed, FeedRuntimeOptions, ChangefeedStatementParts } from './options.js';
export { parseSinkConfig, SinkConfigError, DEFAULT_SINK_CONFIG, type SinkBatchConfig } from './sink-config.js';
export { parseSinkUri, webhookTarget, redactSinkUri, redactForLog, SinkUriError, type WebhookTarget } from './sink-uri.js';
