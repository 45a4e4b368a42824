/**
 * Dialect-neutral building blocks the dialect folders share: shaping changefeed row images into value
 * grids (payload.ts), reading CockroachDB's JSON values (values.ts), date/time text (timestamps.ts),
 * canonical text for verification (canonical.ts), libpq-style TLS settings (tls.ts), classification
 * helpers (errors.ts) and small TargetPool helpers (target.ts, statement.ts, schema-info.ts, by-keys.ts).
 * It must hold no SQL and import no database driver: both belong to dialects/<db>/.
 */
export * from './by-keys.js';
export * from './canonical.js';
export * from './errors.js';
export * from './payload.js';
export * from './schema-info.js';
export * from './statement.js';
export * from './target.js';
export * from './timestamps.js';
export * from './tls.js';
export * from './values.js';
