/**
 * Where passthrough SQL really runs: a PostgreSQL server given by URL, or embedded PGlite served on
 * a local socket (embedded.ts), plus the emulator's own text-only, gated connections to it
 * (internal-db.ts). Knows nothing about CockroachDB semantics.
 */
export { startEmbeddedBackend, type EmbeddedBackend } from './embedded.js';
export { InternalDb, type Queryable, type Row } from './internal-db.js';
