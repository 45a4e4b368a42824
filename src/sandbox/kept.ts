/**
 * What `sandbox --keep` tells the user so they can explore the running failback: connection strings
 * (redacted: the embedded databases have no password, but a MariaDB URL might), the state folder, the
 * engine's metrics and log, and commands to paste.
 */
import { join } from 'node:path';
import { redactConn } from '../lib/conn.js';
import type { KeptEnvironment } from './result.js';
import { EXAMPLE_TABLES } from './schema.js';

export interface KeptInput {
  readonly crdbUrl: string;
  readonly crdbBackingUrl: string;
  readonly targetUrl: string;
  readonly stateDir: string;
  readonly stateFile: string;
  readonly metricsBase: string;
}

function targetShellCommand(url: string): string {
  const u = new URL(url);
  if (u.protocol.startsWith('mysql') || u.protocol.startsWith('mariadb')) {
    // The password (if any) is left out: the user types it when asked (-p).
    return `mariadb --host ${u.hostname} --port ${u.port || '3306'} --user ${decodeURIComponent(u.username) || 'root'}${u.password ? ' -p' : ''} ${u.pathname.slice(1)} -e 'SELECT count(*) FROM orders'`;
  }
  return `psql '${redactConn(url)}' -c 'SELECT count(*) FROM orders'`;
}

export function keptEnvironment(k: KeptInput): KeptEnvironment {
  const crdb = redactConn(k.crdbUrl);
  const target = redactConn(k.targetUrl);
  return {
    crdb,
    crdbBacking: redactConn(k.crdbBackingUrl),
    target,
    // Staging lives on CockroachDB itself, as in the runbook.
    staging: crdb,
    stagingSchema: 'defaultdb._replicator',
    stateFile: k.stateFile,
    stateDir: k.stateDir,
    metricsUrl: `${k.metricsBase}/_/varz`,
    engineLog: join(k.stateDir, 'replicator.log'),
    commands: [
      `molt-failback status --state ${k.stateFile} --crdb-conn '${crdb}'`,
      `psql '${crdb}' -c 'SHOW CHANGEFEED JOBS'`,
      targetShellCommand(k.targetUrl),
      `curl -s ${k.metricsBase}/_/varz | grep -E '^(apply_upserts_total|apply_deletes_total|target_applied_timestamp_seconds)'`,
      `molt-failback verify --crdb-conn '${crdb}' --target-conn '${target}' --tables ${EXAMPLE_TABLES.join(',')}`,
    ],
  };
}
