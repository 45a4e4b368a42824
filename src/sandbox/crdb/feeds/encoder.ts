/**
 * Builds webhook bodies exactly as CockroachDB's webhook sink does: each message is
 * {"after","before"(diff),"key","mvcc_timestamp"(option),"topic","updated"(option)} with keys sorted,
 * a batch is {"payload":[...],"length":N}, a resolved timestamp its own {"resolved":"<hlc>"}; all
 * compact, Go-escaped, numbers copied from jsonb text so INT8 and DECIMAL stay exact. The bare
 * envelope puts key/topic/updated under "__crdb__" next to the row's columns; CSV (initial_scan
 * only) writes the row's values in column order.
 */
import { formatHlc, type Hlc } from '../../../lib/hlc.js';
import { RawNumber, RawObject, goQuote, parseRawJson, stringifyRawJson, type RawJson } from '../util/raw-json.js';
import type { FeedRuntimeOptions } from '../changefeed/options.js';

export interface FeedEvent {
  hlc: Hlc;
  seq: string;
  relid: string;
  /** jsonb text of the primary-key array. */
  key: string;
  after: string | null;
  before: string | null;
}

export interface TargetInfo {
  relid: string;
  topic: string;
  columns: string[];
}

export interface EncodedMessage {
  /** The message value (JSON or a CSV line). */
  text: string;
  /** Identifies the row for per-key ordering. */
  rowKey: string;
  hlc: Hlc;
}

const parse = (t: string | null): RawJson => (t === null ? null : parseRawJson(t));

export function encodeMessage(ev: FeedEvent, target: TargetInfo, opts: FeedRuntimeOptions): EncodedMessage {
  const key = parse(ev.key);
  const rowKey = `${target.topic}\u0000${ev.key}`;
  if (opts.format === 'csv') return { text: csvLine(ev.after, target.columns), rowKey, hlc: ev.hlc };
  const ts = formatHlc(ev.hlc);
  if (opts.envelope === 'bare') {
    const meta: Array<[string, RawJson]> = [['key', key], ['topic', target.topic]];
    if (opts.updated) meta.push(['updated', ts]);
    if (opts.mvccTimestamp) meta.push(['mvcc_timestamp', ts]);
    const after = parse(ev.after);
    const entries: Array<[string, RawJson]> = after instanceof RawObject ? [...after.entries] : [];
    entries.push(['__crdb__', new RawObject(meta)]);
    return { text: stringifyRawJson(new RawObject(entries)), rowKey, hlc: ev.hlc };
  }
  const entries: Array<[string, RawJson]> = [['after', parse(ev.after)], ['key', key], ['topic', target.topic]];
  if (opts.diff) entries.push(['before', parse(ev.before)]);
  if (opts.updated) entries.push(['updated', ts]);
  if (opts.mvccTimestamp) entries.push(['mvcc_timestamp', ts]);
  return { text: stringifyRawJson(new RawObject(entries)), rowKey, hlc: ev.hlc };
}

export const batchBody = (messages: readonly string[], format: 'json' | 'csv' = 'json'): string =>
  format === 'csv' ? messages.join('') : `{"payload":[${messages.join(',')}],"length":${messages.length}}`;

export const resolvedBody = (h: Hlc): string => `{"resolved":${goQuote(formatHlc(h))}}`;

function csvField(v: RawJson | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : v instanceof RawNumber ? v.text : typeof v === 'boolean' ? String(v) : stringifyRawJson(v);
  return /[",\n\r]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(after: string | null, columns: readonly string[]): string {
  const row = parse(after);
  const obj = row instanceof RawObject ? row : new RawObject([]);
  return `${columns.map((c) => csvField(obj.get(c))).join(',')}\n`;
}
