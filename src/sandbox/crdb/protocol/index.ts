/**
 * PostgreSQL v3 wire protocol pieces: message framing, builders and parsers (messages.ts), and the
 * client side of a backend connection with trust, cleartext, md5 and SCRAM-SHA-256 authentication
 * (backend.ts). No CockroachDB knowledge and no session state live here.
 */
export * from './messages.js';
export { connectBackend, parseBackendUrl, sendBackendCancel, BackendError, type BackendTarget, type BackendConnection } from './backend.js';
