/**
 * Reads the engine's Prometheus endpoint (/_/varz). Only used to record what the engine says about
 * itself next to what the bench observed on the target; completion is never decided from it, so a
 * wrong metric cannot make a broken run look good.
 */
import { request } from 'undici';

export type MetricSnapshot = Map<string, number>;

/** Parses Prometheus text format into `name{labels}` -> value (comments and histogram buckets skipped). */
export function parsePrometheus(text: string): MetricSnapshot {
  const out: MetricSnapshot = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (!m || m[1]!.includes('_bucket')) continue;
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export async function scrape(metricsOrigin: string): Promise<MetricSnapshot | undefined> {
  try {
    const res = await request(`${metricsOrigin}/_/varz`, { headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await res.body.text();
    return res.statusCode === 200 ? parsePrometheus(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Sum of every series of a metric, or of those whose labels contain `labelFragment` (e.g. 'code="503"'). */
export function sum(snapshot: MetricSnapshot, name: string, labelFragment = ''): number | undefined {
  let total: number | undefined;
  for (const [key, value] of snapshot) {
    if ((key === name || key.startsWith(`${name}{`)) && key.includes(labelFragment)) total = (total ?? 0) + value;
  }
  return total;
}

/** The engine's own series (runtime and process metrics left out), for the JSON record. */
export function engineSeries(snapshot: MetricSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of snapshot) {
    if (/^(nodejs_|process_)/.test(key)) continue;
    out[key] = value;
  }
  return out;
}
