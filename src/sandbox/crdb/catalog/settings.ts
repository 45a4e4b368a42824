/**
 * The cluster settings the emulator knows, with CockroachDB's names, types, defaults and
 * descriptions, and the validation/normalisation of SET CLUSTER SETTING values. Values are stored
 * in their CockroachDB text form ('true', '250ms', '16'); durations also as microseconds so SQL can
 * render them as INTERVAL for SHOW CLUSTER SETTING. Unknown names fail like CockroachDB:
 * `unknown cluster setting 'x'`.
 */
import { formatGoDuration, parseGoDuration, GoDurationError } from '../util/go-duration.js';

export type SettingType = 'b' | 'd' | 'i' | 's';

export interface SettingDef {
  name: string;
  type: SettingType;
  default: string;
  description: string;
  public: boolean;
  /** Extra validation beyond the type (returns an error text). */
  check?: (value: string) => string | undefined;
}

const positiveInt = (v: string) => (BigInt(v) <= 0n ? `cannot be set to a non-positive value: ${v}` : undefined);
const nonNegativeDuration = (v: string) => (v.startsWith('-') ? `cannot be set to a negative duration: ${v}` : undefined);

export const SETTINGS: readonly SettingDef[] = [
  { name: 'kv.rangefeed.enabled', type: 'b', default: 'false', public: true, description: 'if set, rangefeed registration is enabled' },
  {
    name: 'kv.rangefeed.closed_timestamp_refresh_interval',
    type: 'd',
    default: '3s',
    public: true,
    description: 'the interval at which closed-timestamp updates are delivered to rangefeeds; set to 0 to use kv.closed_timestamp.side_transport_interval',
    check: nonNegativeDuration,
  },
  {
    name: 'kv.closed_timestamp.target_duration',
    type: 'd',
    default: '3s',
    public: true,
    description: 'if nonzero, attempt to provide closed timestamp notifications for timestamps trailing cluster time by approximately this duration',
    check: nonNegativeDuration,
  },
  {
    name: 'kv.closed_timestamp.side_transport_interval',
    type: 'd',
    default: '200ms',
    public: false,
    description: 'the interval at which the closed timestamp side-transport attempts to advance each range\'s closed timestamp; set to 0 to disable the side-transport',
    check: nonNegativeDuration,
  },
  {
    name: 'kv.rangefeed.concurrent_catchup_iterators',
    type: 'i',
    default: '16',
    public: false,
    description: 'number of rangefeeds catchup iterators a store will allow concurrently before queueing',
    check: positiveInt,
  },
  {
    name: 'changefeed.protect_timestamp.max_age',
    type: 'd',
    default: '96h0m0s',
    public: true,
    description: 'fail the changefeed if the protected timestamp age exceeds this threshold; 0 disables expiration',
    check: nonNegativeDuration,
  },
  {
    name: 'changefeed.sink_io_workers',
    type: 'i',
    default: '0',
    public: true,
    description: 'the number of workers used by changefeeds when sending requests to the sink (currently the batching versions of webhook, pubsub, and kafka sinks that are enabled by changefeed.new_<sink type>_sink_enabled only): <0 disables, 0 assigns a reasonable default, >0 assigns the setting value.',
  },
  { name: 'jobs.retention_time', type: 'd', default: '336h0m0s', public: true, description: 'the amount of time for which records for completed jobs are retained', check: nonNegativeDuration },
  { name: 'feature.changefeed.enabled', type: 'b', default: 'true', public: true, description: 'set to true to enable changefeeds, false to disable; default is true' },
  { name: 'cluster.organization', type: 's', default: '', public: true, description: 'organization name' },
  { name: 'enterprise.license', type: 's', default: '', public: true, description: 'the encoded cluster license' },
  { name: 'diagnostics.reporting.enabled', type: 'b', default: 'true', public: true, description: 'enable reporting diagnostic metrics to cockroach labs, but is ignored for Trial or Free licenses' },
  { name: 'version', type: 's', default: '25.4', public: true, description: 'set the active cluster version in the format \'<major>.<minor>\'' },
];

export const findSetting = (name: string): SettingDef | undefined => SETTINGS.find((s) => s.name === name.toLowerCase());

export interface NormalizedValue {
  /** CockroachDB text form stored and shown in SHOW ALL CLUSTER SETTINGS. */
  text: string;
  /** Microseconds for durations (null otherwise). */
  micros: bigint | null;
}

export class SettingError extends Error {}

const BOOL_TRUE = ['true', 't', 'yes', 'y', 'on', '1'];
const BOOL_FALSE = ['false', 'f', 'no', 'n', 'off', '0'];

/** Parses an INTERVAL-ish text (Go duration, HH:MM:SS[.fff], or "N unit" words) to nanoseconds. */
export function parseIntervalText(v: string): bigint {
  const t = v.trim();
  try {
    return parseGoDuration(t);
  } catch (err) {
    if (!(err instanceof GoDurationError)) throw err;
  }
  const hms = /^(-)?(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?$/.exec(t);
  if (hms) {
    const [, neg, h, m, s, f] = hms;
    const ns =
      BigInt(h as string) * 3_600_000_000_000n + BigInt(m as string) * 60_000_000_000n + BigInt(s ?? '0') * 1_000_000_000n + BigInt((f ?? '').padEnd(9, '0') || '0');
    return neg ? -ns : ns;
  }
  const words = t.toLowerCase().match(/-?\d+(?:\.\d+)?\s*[a-zµμ]+/g);
  if (words && words.join('').replace(/\s/g, '') === t.toLowerCase().replace(/\s/g, '')) {
    const units: Record<string, string> = {
      microsecond: 'us', microseconds: 'us', us: 'us', usec: 'us', usecs: 'us',
      millisecond: 'ms', milliseconds: 'ms', ms: 'ms', msec: 'ms', msecs: 'ms',
      second: 's', seconds: 's', s: 's', sec: 's', secs: 's',
      minute: 'm', minutes: 'm', m: 'm', min: 'm', mins: 'm',
      hour: 'h', hours: 'h', h: 'h', hr: 'h', hrs: 'h',
      day: 'd', days: 'd', d: 'd',
    };
    let total = 0n;
    for (const w of words) {
      const m = /^(-?\d+(?:\.\d+)?)\s*([a-zµμ]+)$/.exec(w) as RegExpExecArray;
      const u = units[m[2] as string];
      if (!u) throw new SettingError(`could not parse '${v}' as type interval: interval: unknown unit ${m[2]}`);
      total += u === 'd' ? parseGoDuration(`${Number(m[1]) * 24}h`) : parseGoDuration(`${m[1]}${u}`);
    }
    return total;
  }
  throw new SettingError(`could not parse '${v}' as type interval: interval: missing unit`);
}

/** Validates a SET CLUSTER SETTING value and returns its stored form, like CockroachDB would. */
export function normalizeSettingValue(def: SettingDef, raw: string): NormalizedValue {
  let text: string;
  let micros: bigint | null = null;
  switch (def.type) {
    case 'b': {
      const v = raw.trim().toLowerCase();
      if (BOOL_TRUE.includes(v)) text = 'true';
      else if (BOOL_FALSE.includes(v)) text = 'false';
      else throw new SettingError(`could not parse "${raw}" as type bool: invalid bool value`);
      break;
    }
    case 'i': {
      if (!/^[+-]?\d+$/.test(raw.trim())) throw new SettingError(`could not parse "${raw}" as type int: strconv.ParseInt: parsing "${raw}": invalid syntax`);
      text = BigInt(raw.trim()).toString();
      break;
    }
    case 'd': {
      const ns = parseIntervalText(raw);
      text = formatGoDuration(ns);
      micros = ns / 1000n;
      break;
    }
    default:
      text = raw;
  }
  const problem = def.check?.(text);
  if (problem) throw new SettingError(problem);
  return { text, micros };
}

export function defaultValue(def: SettingDef): NormalizedValue {
  return def.type === 'd' ? { text: def.default, micros: parseGoDuration(def.default) / 1000n } : { text: def.default, micros: null };
}
