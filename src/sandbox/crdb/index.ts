/**
 * The CockroachDB emulator: a PostgreSQL wire-protocol server that the stock `pg` client and `psql`
 * talk to unchanged. Ordinary SQL runs on a backing PostgreSQL (a server by URL, or embedded
 * PGlite); the CockroachDB statements the failback runbook needs (cluster settings,
 * cluster_logical_timestamp(), CREATE CHANGEFEED into webhook-https sinks, changefeed jobs, zone
 * configurations) are answered by the emulator with CockroachDB's output shapes and error texts, and
 * changefeeds deliver real HTTPS webhook requests. It stands in for CockroachDB in tests and the
 * sandbox only, never in a real failback run, and must not be imported by the replicator engine.
 */
export { startCrdbEmulator, type CrdbEmulator, type CrdbEmulatorOptions, type FaultOptions } from './emulator.js';
