/**
 * CREATE CHANGEFEED option validation with CockroachDB's rules and error texts, in CockroachDB's
 * order: option names and value presence (`invalid option "x"`), typed values (durations, enums),
 * initial-scan combinations, then the webhook sink's own checks (sink options, https, format,
 * envelope, TLS parameters, webhook_sink_config). Sink errors are returned separately because
 * CockroachDB reports them only after the rangefeed check, which runs in the backend.
 * The result also carries the runtime options the feed runner needs, stored with the job.
 */
import { lit } from '../sql/literals.js';
import { formatGoDuration, parseGoDuration, GoDurationError } from '../util/go-duration.js';
import { parseSinkConfig, SinkConfigError, type SinkBatchConfig } from './sink-config.js';
import { parseSinkUri, redactSinkUri, SinkUriError, webhookTarget } from './sink-uri.js';

export interface RawOption {
  key: string;
  /** null when the option was given without a value (`WITH updated`). */
  value: string | null;
}

type OptType = 'string' | 'timestamp' | 'duration' | 'flag' | 'enum' | 'json' | 'csv';
interface OptDef {
  type: OptType;
  values?: string[];
  canBeEmpty?: boolean;
  ifEmpty?: string;
  canBeZero?: boolean;
}

const enumOf = (...values: string[]): OptDef => ({ type: 'enum', values });

/** CockroachDB v25.x ChangefeedOptionExpectValues (plus extra_headers for the webhook sink). */
const OPTIONS: Record<string, OptDef> = {
  avro_schema_prefix: { type: 'string' },
  confluent_schema_registry: { type: 'string' },
  cursor: { type: 'timestamp' },
  key_column: { type: 'string' },
  end_time: { type: 'timestamp' },
  envelope: enumOf('row', 'key_only', 'wrapped', 'deprecated_row', 'bare', 'enriched'),
  format: enumOf('json', 'avro', 'csv', 'experimental_avro', 'parquet'),
  full_table_name: { type: 'flag' },
  key_in_value: { type: 'flag' },
  topic_in_value: { type: 'flag' },
  resolved: { type: 'duration', canBeZero: true, canBeEmpty: true, ifEmpty: '0' },
  min_checkpoint_frequency: { type: 'duration', canBeZero: true },
  updated: { type: 'flag' },
  mvcc_timestamp: { type: 'flag' },
  diff: { type: 'flag' },
  compression: enumOf('gzip', 'zstd'),
  schema_change_events: enumOf('column_changes', 'default'),
  schema_change_policy: enumOf('backfill', 'nobackfill', 'stop', 'ignore'),
  split_column_families: { type: 'flag' },
  initial_scan: { ...enumOf('yes', 'no', 'only'), canBeEmpty: true, ifEmpty: 'yes' },
  no_initial_scan: { type: 'flag' },
  initial_scan_only: { type: 'flag' },
  protect_data_from_gc_on_pause: { type: 'flag' },
  gc_protect_expires_after: { type: 'duration', canBeZero: true },
  kafka_sink_config: { type: 'json' },
  pubsub_sink_config: { type: 'json' },
  webhook_sink_config: { type: 'json' },
  webhook_auth_header: { type: 'string' },
  webhook_client_timeout: { type: 'duration' },
  extra_headers: { type: 'json' },
  on_error: enumOf('pause', 'fail'),
  metrics_label: { type: 'string' },
  unordered: { type: 'flag' },
  virtual_columns: enumOf('omitted', 'null'),
  execution_locality: { type: 'string' },
  lagging_ranges_threshold: { type: 'duration' },
  lagging_ranges_polling_interval: { type: 'duration' },
  ignore_disable_changefeed_replication: { type: 'flag' },
  encode_json_value_null_as_object: { type: 'flag' },
  enriched_properties: { type: 'csv', values: ['source', 'schema'] },
  headers_json_column_name: { type: 'string' },
};

const COMMON = new Set([
  'cursor', 'end_time', 'envelope', 'format', 'full_table_name', 'key_in_value', 'topic_in_value', 'resolved', 'updated',
  'mvcc_timestamp', 'diff', 'split_column_families', 'schema_change_events', 'schema_change_policy', 'on_error',
  'initial_scan', 'no_initial_scan', 'initial_scan_only', 'unordered', 'key_column', 'min_checkpoint_frequency',
  'metrics_label', 'virtual_columns', 'gc_protect_expires_after', 'execution_locality', 'lagging_ranges_threshold',
  'lagging_ranges_polling_interval', 'ignore_disable_changefeed_replication', 'encode_json_value_null_as_object',
  'enriched_properties', 'protect_data_from_gc_on_pause',
]);
const WEBHOOK = new Set(['webhook_auth_header', 'webhook_client_timeout', 'webhook_sink_config', 'compression', 'extra_headers']);
const CASE_INSENSITIVE = new Set(['format', 'envelope', 'compression', 'schema_change_events', 'schema_change_policy', 'on_error', 'initial_scan']);
const SCAN_ONLY_UNSUPPORTED = ['end_time', 'resolved', 'diff', 'mvcc_timestamp', 'updated'];

/** SQLSTATE 22023 (invalid_parameter_value): CockroachDB wraps option errors with it. */
export const OPTION_ERROR_CODE = '22023';
/** CockroachDB raises most other errors without a specific code (XXUUU). */
export const UNCATEGORIZED = 'XXUUU';

export class ChangefeedError extends Error {
  constructor(
    message: string,
    readonly code: string = OPTION_ERROR_CODE,
  ) {
    super(message);
  }
}

export interface FeedRuntimeOptions {
  updated: boolean;
  diff: boolean;
  mvccTimestamp: boolean;
  envelope: 'wrapped' | 'bare';
  format: 'json' | 'csv';
  /** Resolved emission: null = off; '0' = every checkpoint; else minimum HLC advance in ns. */
  resolvedNs: string | null;
  minCheckpointNs: string;
  authHeader: string | null;
  clientTimeoutNs: string | null;
  compression: 'gzip' | null;
  extraHeaders: Record<string, string>;
  sink: { messages: number; bytes: number; frequencyNs: string; retryMax: number | null; backoffNs: string };
  endTime: { wall: string; logical: number } | null;
}

export interface ValidatedChangefeed {
  /** Normalized option map (enum values lower-cased); flags map to ''. */
  options: Map<string, string>;
  runtime: FeedRuntimeOptions;
  initialScan: 'yes' | 'no' | 'only';
  cursor: { wall: string; logical: number } | { text: string } | null;
  fullTableName: boolean;
  /** A sink problem CockroachDB reports after the rangefeed check. */
  sinkError: { code: string; message: string } | null;
  notices: string[];
  sinkUriRedacted: string;
  description: string;
}

const DEFAULT_MIN_CHECKPOINT = 30_000_000_000n;

function describeEnum(values: readonly string[]): string {
  if (values.length === 1) return `the only valid value is '${values[0]}'`;
  if (values.length === 2) return `valid values are '${values[0]}' and '${values[1]}'`;
  // Reproduces CockroachDB's formatting, including its ",  and" double space.
  let s = 'valid values are ';
  values.forEach((v, i) => {
    if (i > 0) s += ', ';
    if (i === values.length - 1) s += ' and ';
    s += `'${v}'`;
  });
  return s;
}

function durationValue(key: string, def: OptDef, raw: string): bigint {
  const v = raw === '' ? (def.ifEmpty ?? '') : raw;
  let d: bigint;
  try {
    d = parseGoDuration(v);
  } catch (err) {
    if (err instanceof GoDurationError) throw new ChangefeedError(`problem parsing option ${key}: ${err.message}`);
    throw err;
  }
  if (d < 0n) throw new ChangefeedError(`negative durations are not accepted: ${key}='${v}'`);
  if (d === 0n && !def.canBeZero) throw new ChangefeedError(`option ${key} must be a duration greater than 0`);
  return d;
}

/** Parses a decimal HLC cursor like CockroachDB's DecimalToHLC; other forms go to the backend. */
export function parseCursorText(text: string): { wall: string; logical: number } | { text: string } {
  const m = /^\s*(\d+)(?:\.(\d*))?\s*$/.exec(text);
  if (!m) return { text };
  const frac = m[2] ?? '';
  if (frac.length > 10) throw new ChangefeedError('AS OF SYSTEM TIME: logical part has too many digits', UNCATEGORIZED);
  const logical = Number(frac.padEnd(10, '0') || '0');
  if (logical > 0x7fffffff) throw new ChangefeedError('AS OF SYSTEM TIME: logical part has too many digits', UNCATEGORIZED);
  const wall = BigInt(m[1] as string);
  if (wall === 0n && logical === 0) throw new ChangefeedError('AS OF SYSTEM TIME: zero timestamp is invalid', UNCATEGORIZED);
  return { wall: wall.toString(), logical };
}

export interface ChangefeedStatementParts {
  /** Target names as written (for the description). */
  targets: string[];
  sinkUri: string | null;
  options: RawOption[];
}

export function validateChangefeed(stmt: ChangefeedStatementParts): ValidatedChangefeed {
  // 1. names and value presence, in statement order
  const opts = new Map<string, string>();
  for (const o of stmt.options) {
    const key = o.key;
    const def = OPTIONS[key];
    if (!def) throw new ChangefeedError(`invalid option ${JSON.stringify(key)}`, UNCATEGORIZED);
    if (o.value === null) {
      if (!def.canBeEmpty && def.type !== 'flag') throw new ChangefeedError(`option ${JSON.stringify(key)} requires a value`, UNCATEGORIZED);
    } else if (def.type === 'flag') throw new ChangefeedError(`option ${JSON.stringify(key)} does not take a value`, UNCATEGORIZED);
    const value = o.value ?? '';
    opts.set(key, CASE_INSENSITIVE.has(key) ? value.toLowerCase() : value);
  }
  if (stmt.sinkUri === null) {
    throw new ChangefeedError('the CockroachDB emulator supports only sink changefeeds (CREATE CHANGEFEED ... INTO \'webhook-https://...\')', '0A000');
  }
  if (stmt.sinkUri === '') throw new ChangefeedError('omit the SINK clause for inline results', UNCATEGORIZED);

  // 2. typed values
  const durations = new Map<string, bigint>();
  for (const [key, raw] of opts) {
    const def = OPTIONS[key] as OptDef;
    if (def.type === 'duration') durations.set(key, durationValue(key, def, raw));
    else if (def.type === 'enum' && raw !== '') {
      if (!(def.values as string[]).includes(raw)) throw new ChangefeedError(`unknown ${key}: ${raw}, ${describeEnum(def.values as string[])}`);
    } else if (def.type === 'csv' && raw !== '') {
      for (const v of raw.split(',').map((x) => x.trim())) {
        if (!(def.values as string[]).includes(v)) throw new ChangefeedError(`unknown ${key}: ${v}, valid values are: ${(def.values as string[]).join(', ')}`);
      }
    }
  }

  // 3. initial scan type
  const has = (k: string) => opts.has(k);
  if (has('initial_scan') && has('no_initial_scan')) throw new ChangefeedError('cannot specify both initial_scan and no_initial_scan');
  if (has('initial_scan') && has('initial_scan_only')) throw new ChangefeedError('cannot specify both initial_scan and initial_scan_only');
  if (has('no_initial_scan') && has('initial_scan_only')) throw new ChangefeedError("cannot specify both initial_scan='only' and no_initial_scan");
  let initialScan: 'yes' | 'no' | 'only';
  if (has('initial_scan')) initialScan = ((opts.get('initial_scan') || 'yes') as 'yes' | 'no' | 'only');
  else if (has('initial_scan_only')) initialScan = 'only';
  else if (has('no_initial_scan')) initialScan = 'no';
  else initialScan = has('cursor') ? 'no' : 'yes';
  if (initialScan === 'only') {
    for (const o of SCAN_ONLY_UNSUPPORTED) if (has(o)) throw new ChangefeedError(`cannot specify both initial_scan='only' and ${o}`);
  } else if (opts.get('format') === 'csv') {
    throw new ChangefeedError('format=csv is only usable with initial_scan_only');
  }
  if (has('unordered') && has('resolved')) {
    throw new ChangefeedError('unordered is not usable with resolved because resolved timestamps cannot be guaranteed to be correct in unordered mode');
  }
  if (has('key_column') && !has('unordered')) {
    throw new ChangefeedError('key_column requires the unordered option because using a value other than the primary key as the message key means end-to-end ordering cannot be preserved');
  }

  // cursor (decimal here; timestamps and intervals are evaluated by the backend)
  const cursor = has('cursor') ? parseCursorText(opts.get('cursor') as string) : null;
  let endTime: { wall: string; logical: number } | null = null;
  if (has('end_time')) {
    const e = parseCursorText(opts.get('end_time') as string);
    if ('text' in e) throw new ChangefeedError('the CockroachDB emulator accepts end_time only as a decimal HLC timestamp', '0A000');
    endTime = e;
  }

  // 4. encoding options
  const format = (opts.get('format') || 'json') as string;
  const envelope = (opts.get('envelope') || 'wrapped') as string;
  if (envelope === 'row' && (format === 'avro' || format === 'experimental_avro')) throw new ChangefeedError('envelope=row is not supported with format=avro');
  if (format !== 'json' && has('encode_json_value_null_as_object')) throw new ChangefeedError('encode_json_value_null_as_object is only usable with format=json');
  if (envelope === 'enriched') {
    if (format !== 'json' && format !== 'avro') throw new ChangefeedError('envelope=enriched is only usable with format=json/avro');
  } else if (opts.get('enriched_properties')) {
    throw new ChangefeedError('enriched_properties is only usable with envelope=enriched');
  }
  if (envelope !== 'wrapped' && format !== 'json' && format !== 'parquet') {
    for (const k of ['key_in_value', 'topic_in_value', 'updated', 'mvcc_timestamp', 'diff']) {
      if (has(k)) throw new ChangefeedError(`${k} is only usable with envelope=wrapped`);
    }
  }

  // 5. the sink (reported after the rangefeed check, as CockroachDB does)
  let sinkError: { code: string; message: string } | null = null;
  let sinkConfig: SinkBatchConfig | undefined;
  const sinkFail = (message: string) => {
    if (!sinkError) sinkError = { code: UNCATEGORIZED, message };
  };
  try {
    const { url, scheme } = parseSinkUri(stmt.sinkUri);
    if (scheme === '') sinkFail(`no scheme found for sink URL ${JSON.stringify(stmt.sinkUri)}`);
    else if (scheme !== 'webhook-https' && scheme !== 'webhook-http') {
      const known = ['kafka', 'azure-event-hub', 'confluent-cloud', 'gs', 'gcpubsub', 's3', 'azure', 'nodelocal', 'file-http', 'file-https', 'http', 'https', 'null', 'pulsar', 'external', 'experimental-sql'];
      sinkFail(known.includes(scheme) ? `the CockroachDB emulator supports only webhook sinks (webhook-https://...), not ${scheme}` : `unsupported sink: ${scheme}`);
    } else {
      for (const k of opts.keys()) {
        if (!COMMON.has(k) && !WEBHOOK.has(k)) {
          sinkFail(`this sink is incompatible with option ${k}`);
          break;
        }
      }
      // CockroachDB's order: sink options, webhook_sink_config, scheme/format/envelope, TLS parameters.
      if (!sinkError) {
        try {
          sinkConfig = parseSinkConfig(opts.get('webhook_sink_config'));
        } catch (err) {
          if (err instanceof SinkConfigError) sinkFail(err.message);
          else throw err;
        }
      }
      if (scheme !== 'webhook-https') sinkFail('this sink requires https');
      if (format !== 'json' && format !== 'csv') sinkFail(`this sink is incompatible with format=${format}`);
      if (envelope !== 'wrapped' && envelope !== 'bare') sinkFail(`this sink is incompatible with envelope=${envelope}`);
      if (opts.get('compression') === 'zstd') sinkFail('the CockroachDB emulator does not support compression=zstd (use gzip)');
      if (!sinkError) webhookTarget(url);
    }
  } catch (err) {
    if (err instanceof SinkUriError) sinkFail(err.message);
    else throw err;
  }
  let extraHeaders: Record<string, string> = {};
  if (!sinkError && opts.get('extra_headers')) {
    try {
      const parsed = JSON.parse(opts.get('extra_headers') as string) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      extraHeaders = Object.fromEntries(Object.entries(parsed as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    } catch {
      sinkFail('extra_headers must be a JSON object of header names to values');
    }
  }

  // notices
  const notices: string[] = [];
  const minCheckpoint = durations.get('min_checkpoint_frequency') ?? DEFAULT_MIN_CHECKPOINT;
  if (has('resolved')) {
    const r = durations.get('resolved') ?? 0n;
    if (r < minCheckpoint) {
      const rText = opts.get('resolved') === '' ? '0s by default' : formatGoDuration(r);
      const which = has('min_checkpoint_frequency') ? 'configured' : 'default';
      notices.push(`resolved (${rText}) messages will not be emitted more frequently than the ${which} min_checkpoint_frequency (${formatGoDuration(minCheckpoint)}), but may be emitted less frequently`);
    }
  }

  const cfg = sinkConfig ?? parseSafe(opts.get('webhook_sink_config'));
  const runtime: FeedRuntimeOptions = {
    updated: has('updated'),
    diff: has('diff'),
    mvccTimestamp: has('mvcc_timestamp'),
    envelope: envelope === 'bare' ? 'bare' : 'wrapped',
    format: format === 'csv' ? 'csv' : 'json',
    resolvedNs: has('resolved') ? (durations.get('resolved') ?? 0n).toString() : null,
    minCheckpointNs: minCheckpoint.toString(),
    authHeader: opts.get('webhook_auth_header') ?? null,
    clientTimeoutNs: durations.has('webhook_client_timeout') ? (durations.get('webhook_client_timeout') as bigint).toString() : null,
    compression: opts.get('compression') === 'gzip' ? 'gzip' : null,
    extraHeaders,
    sink: { messages: cfg.messages, bytes: cfg.bytes, frequencyNs: cfg.frequencyNs.toString(), retryMax: cfg.retryMax, backoffNs: cfg.backoffNs.toString() },
    endTime,
  };

  const sinkUriRedacted = redactSinkUri(stmt.sinkUri);
  const described = [...opts.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => {
      const def = OPTIONS[k] as OptDef;
      if (def.type === 'flag' || (v === '' && def.canBeEmpty)) return k;
      return `${k} = ${lit(k === 'webhook_auth_header' ? 'redacted' : v)}`;
    });
  const description =
    `CREATE CHANGEFEED FOR TABLE ${stmt.targets.join(', ')} INTO ${lit(sinkUriRedacted)}` + (described.length ? ` WITH OPTIONS (${described.join(', ')})` : '');

  return { options: opts, runtime, initialScan, cursor, fullTableName: has('full_table_name'), sinkError, notices, sinkUriRedacted, description };
}

function parseSafe(text: string | undefined): SinkBatchConfig {
  try {
    return parseSinkConfig(text);
  } catch {
    return parseSinkConfig(undefined);
  }
}
