/**
 * The wizard's settings: one table (flag, environment variable, config-file key, default, prompt) and
 * the zod schema of the validated, frozen config that every step receives. Secrets (connection strings)
 * are marked so that plans, errors and the state file never show them.
 */
import { z } from 'zod';
import { connString, durationString, hlcString, hostPortString, hostString, type SettingDef } from '../lib/config.js';

export const STEP_IDS = [
  'preflight',
  'enable-rangefeeds',
  'grant-target-privileges',
  'prepare-tls',
  'drain-forward',
  'stop-forward',
  'start-replicator',
  'fetch-cursor',
  'create-changefeed',
  'monitor-changefeed',
] as const;
export type StepId = (typeof STEP_IDS)[number];

export const FailbackConfigSchema = z.object({
  stateFile: z.string().min(1),
  crdb: z.object({
    /** CockroachDB connection (the source of the failback). */
    conn: connString('crdb.conn'),
  }),
  /** Tables to fail back, as named on CockroachDB (unqualified or schema.table). */
  tables: z.array(z.string().min(1)).min(1, 'at least one table is needed'),
  target: z.object({
    /** The original database, written to by the engine as the failback user. */
    conn: connString('target.conn'),
    /** Optional admin connection used only to grant privileges to the failback user. */
    adminConn: connString('target.adminConn').optional(),
    /**
     * Target schema as the webhook path names it: "db.schema" for PostgreSQL, "db" for MySQL,
     * "SCHEMA" for Oracle. Defaults from the connection string.
     */
    schema: z.string().min(1).optional(),
  }),
  staging: z.object({
    conn: connString('staging.conn').optional(),
    schema: z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'must be db.schema, e.g. defaultdb._replicator'),
    createSchema: z.boolean(),
  }),
  replicator: z.object({
    /** Listen address of the webhook sink. */
    bindAddr: hostPortString,
    /** Host name CockroachDB uses to reach the sink (goes into the sink URI and the certificate SAN). */
    host: hostString,
    metricsAddr: hostPortString,
    tlsCertificate: z.string().optional(),
    tlsPrivateKey: z.string().optional(),
    /** CA that signed tlsCertificate, passed to CockroachDB as ca_cert. */
    tlsCa: z.string().optional(),
    /** Extra engine flags, MOLT Replicator style (e.g. ["--parallelism", "8"]). */
    extraFlags: z.array(z.string()),
    /** Engine log verbosity: -v logs every webhook request. */
    verbose: z.boolean(),
  }),
  forward: z.object({
    /** The forward replicator's Prometheus endpoint, e.g. http://host:30005/_/varz. */
    metricsUrl: z.string().url().optional(),
    pid: z.number().int().positive().optional(),
    pidFile: z.string().optional(),
    quietPeriod: durationString,
    pollInterval: durationString,
    timeout: durationString,
    /** Explicit consent, under --yes, that the drain was confirmed from the logs (no metrics endpoint). */
    confirmDrained: z.boolean().optional(),
    /** Explicit consent, under --yes, that the forward replicator was stopped by hand (no pid known). */
    confirmStopped: z.boolean().optional(),
  }),
  rangefeed: z.object({
    /** Apply the runbook's optional tuning settings (after showing its latency warning). */
    tune: z.boolean(),
    closedTimestampRefreshInterval: durationString,
    closedTimestampTargetDuration: durationString,
    concurrentCatchupIterators: z.number().int().positive(),
  }),
  changefeed: z.object({
    resolved: durationString,
    minCheckpointFrequency: durationString,
    initialScan: z.enum(['no', 'yes', 'only']),
    webhookSinkConfig: z.string().refine((s) => {
      try {
        JSON.parse(s);
        return true;
      } catch {
        return false;
      }
    }, 'must be a JSON string such as {"Flush":{"Bytes":1048576,"Frequency":"1s"}}'),
    webhookClientTimeout: durationString,
    /** Extra CREATE CHANGEFEED options, name -> value (null for a flag option such as diff). */
    extraOptions: z.record(z.string(), z.string().nullable()),
    /** Use this cursor instead of fetching one (advanced: it must be newer than the GC threshold). */
    cursor: hlcString.optional(),
  }),
  monitor: z.object({
    /** How long monitor-changefeed waits for proof that data flows. */
    timeout: durationString,
    /** Explicit consent, under --yes, to delete stale staged mutations of the failback tables (never a DROP). */
    cleanStaging: z.boolean().optional(),
  }),
});
export type FailbackConfig = z.infer<typeof FailbackConfigSchema>;

/** The staging database's connection: staging.conn, or CockroachDB's when staging lives there. */
export const stagingConnOf = (config: Pick<FailbackConfig, 'staging' | 'crdb'>): string => config.staging.conn ?? config.crdb.conn;

const E = (name: string) => `MOLT_FAILBACK_${name}`;

export const DEFAULT_STATE_FILE = '.molt-failback/state.json';

/** Every wizard setting, in the order the wizard asks for missing ones. */
export const FAILBACK_SETTINGS: readonly SettingDef[] = [
  { key: 'stateFile', description: 'State file path', flag: 'state', env: E('STATE'), default: DEFAULT_STATE_FILE },
  {
    key: 'crdb.conn',
    description: 'CockroachDB connection string (the cluster you fail back from)',
    flag: 'crdb-conn',
    env: E('CRDB_CONN'),
    secret: true,
    required: true,
    prompt: { kind: 'password', message: 'CockroachDB connection string (postgres://user:pass@host:26257/db)' },
  },
  {
    key: 'tables',
    kind: 'list',
    description: 'Tables to fail back, comma-separated',
    flag: 'tables',
    env: E('TABLES'),
    required: true,
    prompt: { kind: 'input', message: 'Tables to fail back (comma-separated, e.g. employees,payments,orders)' },
  },
  {
    key: 'target.conn',
    description: 'Target (original database) connection string for the failback user',
    flag: 'target-conn',
    env: E('TARGET_CONN'),
    secret: true,
    required: true,
    prompt: { kind: 'password', message: 'Target connection string (postgres://, mysql:// or oracle://)' },
  },
  { key: 'target.adminConn', description: 'Target admin connection string (only to grant privileges)', flag: 'target-admin-conn', env: E('TARGET_ADMIN_CONN'), secret: true },
  { key: 'target.schema', description: 'Target schema: db.schema (PostgreSQL), db (MySQL) or SCHEMA (Oracle)', flag: 'target-schema', env: E('TARGET_SCHEMA') },
  { key: 'staging.conn', description: 'Staging connection string (defaults to the CockroachDB connection)', flag: 'staging-conn', env: E('STAGING_CONN'), secret: true },
  { key: 'staging.schema', description: 'Staging schema (db.schema)', flag: 'staging-schema', env: E('STAGING_SCHEMA'), default: 'defaultdb._replicator' },
  { key: 'staging.createSchema', kind: 'boolean', description: 'Create the staging schema if missing', flag: 'staging-create-schema', env: E('STAGING_CREATE_SCHEMA'), default: true },
  { key: 'replicator.bindAddr', description: 'Webhook sink listen address', flag: 'bind-addr', env: E('BIND_ADDR'), default: ':30004' },
  { key: 'replicator.host', description: 'Host name CockroachDB uses to reach the webhook sink', flag: 'webhook-host', env: E('WEBHOOK_HOST'), default: 'localhost' },
  { key: 'replicator.metricsAddr', description: 'Engine metrics listen address', flag: 'metrics-addr', env: E('METRICS_ADDR'), default: '127.0.0.1:30005' },
  { key: 'replicator.tlsCertificate', description: 'Webhook server certificate (PEM); generated when absent', flag: 'tls-certificate', env: E('TLS_CERTIFICATE') },
  { key: 'replicator.tlsPrivateKey', description: 'Webhook server private key (PEM)', flag: 'tls-private-key', env: E('TLS_PRIVATE_KEY') },
  { key: 'replicator.tlsCa', description: 'CA certificate that signed the webhook server certificate', flag: 'tls-ca', env: E('TLS_CA') },
  { key: 'replicator.extraFlags', kind: 'list', description: 'Extra engine flags (comma-separated)', flag: 'replicator-flags', env: E('REPLICATOR_FLAGS'), default: [] },
  { key: 'replicator.verbose', kind: 'boolean', description: 'Log every webhook request in the engine (-v)', env: E('REPLICATOR_VERBOSE'), default: true },
  { key: 'forward.metricsUrl', description: "Forward replicator's metrics URL (http://host:port/_/varz)", flag: 'forward-metrics-url', env: E('FORWARD_METRICS_URL') },
  { key: 'forward.pid', kind: 'number', description: 'Forward replicator process id', flag: 'forward-pid', env: E('FORWARD_PID') },
  { key: 'forward.pidFile', description: 'Forward replicator pid file', flag: 'forward-pid-file', env: E('FORWARD_PID_FILE') },
  { key: 'forward.quietPeriod', description: 'How long apply rates must stay at zero to call forward replication drained', flag: 'drain-quiet-period', env: E('DRAIN_QUIET_PERIOD'), default: '10s' },
  { key: 'forward.pollInterval', description: 'How often to scrape the forward replicator while draining', env: E('DRAIN_POLL_INTERVAL'), default: '2s' },
  { key: 'forward.timeout', description: 'Give up waiting for the drain after this long', flag: 'drain-timeout', env: E('DRAIN_TIMEOUT'), default: '10m' },
  { key: 'forward.confirmDrained', kind: 'boolean', description: 'Consent under --yes: forward replication was confirmed drained from its logs (used only without a metrics URL, or when it shows no apply counters)', flag: 'confirm-drained', env: E('CONFIRM_DRAINED'), default: false },
  { key: 'forward.confirmStopped', kind: 'boolean', description: 'Consent under --yes: the forward replicator was stopped by hand (used only without a pid or pid file)', flag: 'confirm-forward-stopped', env: E('CONFIRM_FORWARD_STOPPED'), default: false },
  { key: 'rangefeed.tune', kind: 'boolean', description: "Apply the runbook's optional rangefeed tuning settings", flag: 'tune-rangefeeds', env: E('TUNE_RANGEFEEDS'), default: false },
  { key: 'rangefeed.closedTimestampRefreshInterval', description: 'kv.rangefeed.closed_timestamp_refresh_interval when tuning', env: E('CLOSED_TS_REFRESH_INTERVAL'), default: '250ms' },
  { key: 'rangefeed.closedTimestampTargetDuration', description: 'kv.closed_timestamp.target_duration when tuning', env: E('CLOSED_TS_TARGET_DURATION'), default: '1s' },
  { key: 'rangefeed.concurrentCatchupIterators', kind: 'number', description: 'kv.rangefeed.concurrent_catchup_iterators when tuning', env: E('CATCHUP_ITERATORS'), default: 64 },
  { key: 'changefeed.resolved', description: 'Changefeed resolved interval', env: E('CHANGEFEED_RESOLVED'), default: '250ms' },
  { key: 'changefeed.minCheckpointFrequency', description: 'Changefeed min_checkpoint_frequency', env: E('CHANGEFEED_MIN_CHECKPOINT_FREQUENCY'), default: '250ms' },
  { key: 'changefeed.initialScan', description: 'Changefeed initial_scan', env: E('CHANGEFEED_INITIAL_SCAN'), default: 'no' },
  { key: 'changefeed.webhookSinkConfig', description: 'Changefeed webhook_sink_config JSON', env: E('CHANGEFEED_SINK_CONFIG'), default: '{"Flush":{"Bytes":1048576,"Frequency":"1s"}}' },
  { key: 'changefeed.webhookClientTimeout', description: 'Changefeed webhook_client_timeout', env: E('CHANGEFEED_CLIENT_TIMEOUT'), default: '10s' },
  { key: 'changefeed.extraOptions', kind: 'json', description: 'Extra CREATE CHANGEFEED options as a JSON object', env: E('CHANGEFEED_EXTRA_OPTIONS'), default: {} },
  { key: 'changefeed.cursor', description: 'Explicit changefeed cursor (HLC decimal); normally fetched', flag: 'cursor', env: E('CURSOR') },
  { key: 'monitor.timeout', description: 'How long monitor-changefeed waits for proof that data flows', flag: 'monitor-timeout', env: E('MONITOR_TIMEOUT'), default: '2m' },
  { key: 'monitor.cleanStaging', kind: 'boolean', description: 'Consent under --yes: delete stale staged mutations of the failback tables when re-application is detected', flag: 'clean-staging', env: E('CLEAN_STAGING'), default: false },
];
