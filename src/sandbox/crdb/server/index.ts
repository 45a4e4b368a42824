/**
 * The emulator's PostgreSQL wire-protocol front end: a TCP listener, one Session per client that
 * relays frames to its own backend connection while rewriting CockroachDB statements, the response
 * tracker that reshapes replies, and the gate that serialises access to a single-session backend
 * (PGlite). It knows the protocol and the rewriter's contract, not CockroachDB semantics.
 */
export { PgListener, type ListenerOptions } from './listener.js';
export { Gate } from './gate.js';
export { ResponseTracker, PASS, SWALLOW, type Action } from './tracker.js';
export { CRDB_SERVER_VERSION, CRDB_VERSION_STRING } from './session.js';
