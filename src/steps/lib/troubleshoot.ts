/**
 * Maps CockroachDB's changefeed error texts (from CREATE CHANGEFEED, running_status and the job's
 * error column) to the runbook's troubleshooting, phrased as what to do. Matching is on stable
 * substrings only (facts §2.1, §3): the prefixes ("transient error:", "retryable error:") changed
 * across releases.
 */
import type { StepContext } from '../step.js';
import { sinkLocation, targetOf } from './common.js';
import { currentDatabase } from './crdb.js';
import { redactSinkText, sinkBase } from './sink-uri.js';

export interface Diagnosis {
  kind: 'connection-refused' | 'unknown-schema' | 'gc-threshold' | 'unauthorized' | 'not-found' | 'tls' | 'timeout' | 'rangefeeds-disabled' | 'bad-payload' | 'other';
  summary: string;
  actions: string[];
}

export interface DiagnoseContext {
  /** host:port CockroachDB dials, and the path it posts to. */
  endpoint: string;
  path: string;
  /** The dialect's path shape, for the unknown-schema advice. */
  pathShape: string;
  database: string;
}

export function diagnose(text: string, c: DiagnoseContext): Diagnosis {
  const t = redactSinkText(text);
  if (/connection refused/i.test(t)) {
    return {
      kind: 'connection-refused',
      summary: `CockroachDB cannot connect to the webhook at ${c.endpoint}: ${t}`,
      actions: [
        'The engine is down, or the host or port in the sink URI is wrong: check molt-failback status and the engine log.',
        `CockroachDB's nodes must reach ${c.endpoint}: set --webhook-host to a name they resolve to this machine and open the port.`,
      ],
    };
  }
  if (/unknown schema/i.test(t)) {
    return {
      kind: 'unknown-schema',
      summary: `The engine does not know the target schema in the webhook path ${c.path}: ${t}`,
      actions: [`The path must be ${c.pathShape} and name an existing schema on the target; check --target-schema (Oracle schemas are upper case).`],
    };
  }
  if (/must be after replica GC threshold/i.test(t)) {
    return {
      kind: 'gc-threshold',
      summary: `The cursor is older than CockroachDB's GC threshold: ${t}`,
      actions: [
        `Raise the GC TTL (ALTER DATABASE ${c.database} CONFIGURE ZONE USING gc.ttlseconds = <seconds>;) before the history is gone.`,
        'Otherwise only a newer cursor works, and the changes in between are not replicated.',
      ],
    };
  }
  if (/\b401\b|missing or invalid access token/i.test(t)) {
    return {
      kind: 'unauthorized',
      summary: `The engine rejected the changefeed's bearer token: ${t}`,
      actions: ['The token file in the state folder changed since the changefeed was created: end this failback (molt-failback teardown) and run again.'],
    };
  }
  if (/\b404\b/.test(t)) {
    return { kind: 'not-found', summary: `The webhook path ${c.path} matches no route: ${t}`, actions: [`The path must be ${c.pathShape}.`] };
  }
  if (/x509|certificate|tls:|handshake/i.test(t)) {
    return {
      kind: 'tls',
      summary: `TLS between CockroachDB and the webhook failed: ${t}`,
      actions: ["The server certificate's SAN must cover --webhook-host, and ca_cert must be the CA that signed it: run molt-failback step prepare-tls."],
    };
  }
  if (/Client\.Timeout|deadline exceeded|i\/o timeout/i.test(t)) {
    return {
      kind: 'timeout',
      summary: `Requests to the webhook time out: ${t}`,
      actions: ['A firewall may drop the traffic, or the engine is overloaded; raise webhook_client_timeout only if the engine is slow but healthy.'],
    };
  }
  if (/rangefeeds require/i.test(t)) {
    return { kind: 'rangefeeds-disabled', summary: t, actions: ['Run molt-failback step enable-rangefeeds (SET CLUSTER SETTING kv.rangefeed.enabled = true).'] };
  }
  if (/could not decode payload|400 Bad Request/i.test(t)) {
    return { kind: 'bad-payload', summary: `The engine rejected the payload: ${t}`, actions: ['Remove changefeed options the engine does not accept (for example mvcc_timestamp, envelope or format).'] };
  }
  return { kind: 'other', summary: t, actions: [] };
}

/** diagnose() with the context taken from the config: our sink's host:port and path, and CockroachDB's database. */
export async function diagnoseChangefeed(ctx: Pick<StepContext, 'config' | 'services'>, text: string): Promise<Diagnosis> {
  const { dialect } = targetOf(ctx.config);
  const loc = sinkLocation(ctx.config);
  const database = await currentDatabase(await ctx.services.crdb()).catch(() => 'defaultdb');
  const pathShape = dialect.name === 'postgres' ? '/database/schema' : dialect.name === 'mysql' ? '/database' : '/SCHEMA (upper case)';
  return diagnose(text, { endpoint: sinkBase(loc).replace(/^webhook-https:\/\//, '').replace(/\/.*$/, ''), path: loc.path, pathShape, database });
}
