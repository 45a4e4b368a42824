/**
 * Cursor safety against CockroachDB's garbage collection. A changefeed cursor older than the GC TTL may
 * point at MVCC history that is already gone ("batch timestamp ... must be after replica GC threshold",
 * facts §3.1). The age is measured on CockroachDB's own clock (cluster_logical_timestamp()), never on
 * this machine's, and the effective TTL is the lowest of the database's and every table's zone
 * (a table-level zone config may be lower than its database's).
 */
import { compareHlc, parseHlc, type Hlc } from '../../lib/hlc.js';
import type { SqlSession } from '../services.js';
import { configureZoneSql, zoneGc, type SourceTable } from './crdb.js';

/** Seconds from `cursor` to `now` (both HLC decimals); negative when the cursor is in the future. */
export function hlcAgeSeconds(cursor: Hlc, now: Hlc): number {
  return Number(now.nanos - cursor.nanos) / 1e9;
}

export interface GcWindow {
  ttlSeconds: number;
  /** Which zone gives the lowest TTL, e.g. "TABLE public.orders" or "DATABASE defaultdb". */
  from: string;
  zones: Array<{ object: string; inheritedFrom: string; ttlSeconds: number }>;
}

export async function effectiveGcTtl(session: SqlSession, database: string, tables: readonly SourceTable[]): Promise<GcWindow> {
  const zones: GcWindow['zones'] = [];
  const db = await zoneGc(session, 'DATABASE', [database]);
  zones.push({ object: `DATABASE ${database}`, inheritedFrom: db.target, ttlSeconds: db.ttlSeconds });
  for (const t of tables) {
    const z = await zoneGc(session, 'TABLE', [t.schema, t.name]);
    zones.push({ object: `TABLE ${t.key}`, inheritedFrom: z.target, ttlSeconds: z.ttlSeconds });
  }
  const lowest = zones.reduce((a, b) => (b.ttlSeconds < a.ttlSeconds ? b : a));
  return { ttlSeconds: lowest.ttlSeconds, from: lowest.object, zones };
}

export type GcVerdict =
  | { state: 'ok'; ageSeconds: number; remainingSeconds: number }
  | { state: 'tight'; ageSeconds: number; remainingSeconds: number }
  | { state: 'expired'; ageSeconds: number; remainingSeconds: number }
  | { state: 'future'; ageSeconds: number; remainingSeconds: number };

/** Tight: less than a quarter of the TTL is left before GC may pass the cursor. */
export function gcVerdict(cursor: string, now: string, ttlSeconds: number): GcVerdict {
  const c = parseHlc(cursor);
  const n = parseHlc(now);
  const ageSeconds = hlcAgeSeconds(c, n);
  const remainingSeconds = ttlSeconds - ageSeconds;
  if (compareHlc(c, n) > 0) return { state: 'future', ageSeconds, remainingSeconds };
  if (remainingSeconds <= 0) return { state: 'expired', ageSeconds, remainingSeconds };
  if (remainingSeconds < ttlSeconds * 0.25) return { state: 'tight', ageSeconds, remainingSeconds };
  return { state: 'ok', ageSeconds, remainingSeconds };
}

/** The runbook's fix, sized to keep at least a day (or twice the cursor's age) of history. */
export function gcGuidance(database: string, ageSeconds: number): string[] {
  const ttl = Math.max(86_400, Math.ceil(Math.max(0, ageSeconds) * 2));
  return [
    `Raise the GC TTL before the history is collected: ${configureZoneSql(database, ttl)}; (and ALTER TABLE ... CONFIGURE ZONE for any table with its own zone).`,
    'A cursor GC has already passed cannot be recovered: a newer cursor skips the changes in between. Use one only if nothing was written to the failback tables on CockroachDB since the old cursor.',
  ];
}
