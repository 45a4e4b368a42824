/**
 * `webhook_sink_config` parsing with CockroachDB's semantics (Go encoding/json into
 * {Flush:{Messages,Bytes,Frequency},Retry:{Max,Backoff}}): field names match case-insensitively,
 * unknown fields are ignored, type mismatches and bad durations fail with Go's texts prefixed by
 * `error unmarshalling json: `, then the range rules (non-negative, Frequency required when
 * Messages or Bytes is set). Defaults: flush immediately, Retry.Max 3, Retry.Backoff 500ms.
 */
import { parseGoDuration, GoDurationError } from '../util/go-duration.js';

export interface SinkBatchConfig {
  messages: number;
  bytes: number;
  frequencyNs: bigint;
  /** null = retry forever ("inf"). */
  retryMax: number | null;
  backoffNs: bigint;
}

export const DEFAULT_SINK_CONFIG: SinkBatchConfig = { messages: 0, bytes: 0, frequencyNs: 0n, retryMax: 3, backoffNs: 500_000_000n };

export class SinkConfigError extends Error {}

type J = unknown;
const goType = (v: J): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'string' ? 'string' : typeof v === 'number' ? 'number' : 'bool');
const field = (obj: Record<string, J>, name: string): J => {
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === name.toLowerCase()) return v;
  return undefined;
};

function intField(v: J, path: string, raw: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw new SinkConfigError(`json: cannot unmarshal ${goType(v)} into Go struct field sinkJSONConfig.${path} of type int`);
  if (!Number.isInteger(v)) throw new SinkConfigError(`json: cannot unmarshal number ${raw} into Go struct field sinkJSONConfig.${path} of type int`);
  return v;
}

function durationField(v: J): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new SinkConfigError(`json: cannot unmarshal ${goType(v)} into Go value of type string`);
  try {
    return parseGoDuration(v);
  } catch (err) {
    if (err instanceof GoDurationError) throw new SinkConfigError(err.message);
    throw err;
  }
}

function maxField(v: J): number | null | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (v <= 0) throw new SinkConfigError("Retry.Max must be a positive integer. use 'inf' for infinite retries.");
    return v;
  }
  if (typeof v === 'string') {
    if (v.toLowerCase() === 'inf') return null;
    if (/^[+-]?\d+$/.test(v)) {
      const n = Number(v);
      // CockroachDB accepts integers as strings without the positivity check; 0 means infinite.
      return n === 0 ? null : n;
    }
  }
  throw new SinkConfigError("Retry.Max must be either a positive int or 'inf' for infinite retries.");
}

/** Parses the option value; throws SinkConfigError with CockroachDB's text. */
export function parseSinkConfig(text: string | undefined): SinkBatchConfig {
  const cfg: SinkBatchConfig = { ...DEFAULT_SINK_CONFIG };
  if (text === undefined || text === '') return cfg;
  let doc: J;
  try {
    doc = JSON.parse(text);
  } catch {
    const bad = firstBadChar(text);
    throw new SinkConfigError(`error unmarshalling json: invalid character ${bad} looking for beginning of value`);
  }
  try {
    if (doc === null) return cfg;
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw new SinkConfigError(`json: cannot unmarshal ${goType(doc)} into Go value of type changefeedccl.sinkJSONConfig`);
    }
    const flush = field(doc as Record<string, J>, 'Flush');
    const retry = field(doc as Record<string, J>, 'Retry');
    let negativeMax = false;
    if (flush !== undefined && flush !== null) {
      if (typeof flush !== 'object' || Array.isArray(flush)) throw new SinkConfigError(`json: cannot unmarshal ${goType(flush)} into Go struct field sinkJSONConfig.Flush of type changefeedccl.sinkBatchConfig`);
      const f = flush as Record<string, J>;
      cfg.messages = intField(field(f, 'Messages'), 'Flush.Messages', rawNumber(text, 'Messages')) ?? cfg.messages;
      cfg.bytes = intField(field(f, 'Bytes'), 'Flush.Bytes', rawNumber(text, 'Bytes')) ?? cfg.bytes;
      cfg.frequencyNs = durationField(field(f, 'Frequency')) ?? cfg.frequencyNs;
    }
    if (retry !== undefined && retry !== null) {
      if (typeof retry !== 'object' || Array.isArray(retry)) throw new SinkConfigError(`json: cannot unmarshal ${goType(retry)} into Go struct field sinkJSONConfig.Retry of type changefeedccl.sinkRetryConfig`);
      const r = retry as Record<string, J>;
      const max = maxField(field(r, 'Max'));
      if (max !== undefined) {
        cfg.retryMax = max;
        negativeMax = max !== null && max < 0;
      }
      cfg.backoffNs = durationField(field(r, 'Backoff')) ?? cfg.backoffNs;
    }
    if (cfg.messages < 0 || cfg.bytes < 0 || cfg.frequencyNs < 0n || negativeMax || cfg.backoffNs < 0n) {
      return fail('invalid sink config, all values must be non-negative');
    }
  } catch (err) {
    if (err instanceof RangeRuleError) throw new SinkConfigError(err.message);
    if (err instanceof SinkConfigError) throw new SinkConfigError(`error unmarshalling json: ${err.message}`);
    throw err;
  }
  if ((cfg.messages > 0 || cfg.bytes > 0) && cfg.frequencyNs === 0n) {
    throw new SinkConfigError('invalid sink config, Flush.Frequency is not set, messages may never be sent');
  }
  return cfg;
}

class RangeRuleError extends Error {}
const fail = (msg: string): never => {
  throw new RangeRuleError(msg);
};

function rawNumber(text: string, name: string): string {
  const m = new RegExp(`"${name}"\\s*:\\s*(-?[0-9.eE+-]+)`, 'i').exec(text);
  return m?.[1] ?? '';
}

function firstBadChar(text: string): string {
  const t = text.trimStart();
  const c = t[0] ?? '';
  return c === "'" ? `'\\''` : `'${c}'`;
}
