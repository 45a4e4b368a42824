/**
 * What the steps read from a replicator's Prometheus endpoint, tolerant of MOLT's metric renames
 * (facts §4.6, replicator-behaviour §6/§11): the apply counters by schema (for the drain), and for our
 * engine the webhook status codes, applied/pending resolved timestamps, lag, unapplied staged rows and
 * going-backwards errors. Label names differ between releases too (`schema` vs the older `target`).
 */
import type { HttpClient } from '../services.js';
import { maxBy, parsePrometheusText, pickFamily, sumBy, total, type Sample } from './prometheus.js';

const SCHEMA_LABELS = ['schema', 'target'] as const;
/** Series without a schema label (or no series yet) are reported under this name. */
export const ALL_SCHEMAS = '(all)';

export const UPSERT_NAMES = ['apply_upserts_total', 'apply_upserts', 'apply_upserts_count'] as const;
export const DELETE_NAMES = ['apply_deletes_total', 'apply_deletes', 'apply_deletes_count'] as const;
/** When a build exposes no per-table apply counters, fall back to the sequencer's applied count. */
export const APPLIED_FALLBACK_NAMES = ['core_sweep_mutations_applied_total', 'core_sweep_apply_count'] as const;

/** Rows applied per schema: apply_upserts_total + apply_deletes_total summed over tables. */
export function appliedBySchema(samples: readonly Sample[]): Map<string, number> {
  const upserts = pickFamily(samples, UPSERT_NAMES);
  const deletes = pickFamily(samples, DELETE_NAMES);
  const family = upserts.length + deletes.length > 0 ? [...upserts, ...deletes] : pickFamily(samples, APPLIED_FALLBACK_NAMES);
  return sumBy(family, SCHEMA_LABELS, ALL_SCHEMAS);
}

export interface EngineSnapshot {
  /** When the scrape was taken (ms since epoch, this machine's clock). */
  at: number;
  /** Webhook responses by status code (http_status_codes_total). */
  httpCodes: Record<string, number>;
  http200: number;
  /** Responses with a status of 400 or above. */
  httpErrors: number;
  /** Unix seconds of the newest applied / received resolved timestamp, by schema. */
  applied: Record<string, number>;
  pending: Record<string, number>;
  /** Rows applied (upserts + deletes) by schema. */
  rows: Record<string, number>;
  sourceLagSeconds?: number;
  /** Staged mutations not yet applied (any gauge whose name says "unapplied"), when exposed. */
  stagedUnapplied?: number;
  /** checkpoint_proposed_going_backwards_errors(_total): resolved timestamps that went backwards. */
  goingBackwards: number;
}

const toRecord = (m: Map<string, number>): Record<string, number> => Object.fromEntries(m);

export const engineSnapshot = (text: string, at: number): EngineSnapshot => snapshotOf(parsePrometheusText(text), at);

function snapshotOf(samples: readonly Sample[], at: number): EngineSnapshot {
  const codes = sumBy(pickFamily(samples, ['http_status_codes_total', 'http_status_codes']), ['code'], 'unknown');
  const lag = pickFamily(samples, ['core_source_lag_seconds', 'source_lag_seconds']);
  const unapplied = samples.filter((s) => /unapplied/.test(s.name) && !s.name.endsWith('_total'));
  return {
    at,
    httpCodes: toRecord(codes),
    http200: codes.get('200') ?? 0,
    httpErrors: [...codes].filter(([c]) => Number(c) >= 400).reduce((a, [, v]) => a + v, 0),
    applied: toRecord(maxBy(pickFamily(samples, ['target_applied_timestamp_seconds']), SCHEMA_LABELS, ALL_SCHEMAS)),
    pending: toRecord(maxBy(pickFamily(samples, ['target_pending_timestamp_seconds']), SCHEMA_LABELS, ALL_SCHEMAS)),
    rows: toRecord(appliedBySchema(samples)),
    sourceLagSeconds: lag.length > 0 ? Math.max(...lag.map((s) => s.value)) : undefined,
    stagedUnapplied: unapplied.length > 0 ? total(unapplied) : undefined,
    goingBackwards: total(pickFamily(samples, ['checkpoint_proposed_going_backwards_errors_total', 'checkpoint_proposed_going_backwards_errors'])),
  };
}

/** Fetches and parses a Prometheus endpoint; rejects on transport errors and non-200 answers. */
export async function scrape(http: HttpClient, url: string, timeoutMs = 5000): Promise<{ text: string; samples: Sample[] }> {
  const res = await http.get(url, { timeoutMs });
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
  return { text: res.body, samples: parsePrometheusText(res.body) };
}

/**
 * Scrapes our engine's /_/varz once (rejects like scrape); `at` is read from `now` once the answer is
 * in, so steps can pass their fake clock.
 */
export async function scrapeEngine(http: HttpClient, url: string, now: () => number = Date.now, timeoutMs = 3000): Promise<EngineSnapshot> {
  const { samples } = await scrape(http, url, timeoutMs);
  return snapshotOf(samples, now());
}
