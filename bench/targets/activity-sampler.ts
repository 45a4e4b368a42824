/**
 * A sampling stand-in for pg_stat_statements (which needs a server restart to load): every 100 ms,
 * which statements the engine's backends are executing in the staging and target databases, and what
 * they wait on. Counting samples per statement gives each statement's share of database time, enough
 * to name the query that dominates. Costs the server about 10 small queries per second.
 */
import pg from 'pg';

export interface ActivityShare {
  readonly database: string;
  readonly query: string;
  /** Samples in which a backend was executing this statement. */
  readonly samples: number;
  /** Of all samples with at least one active engine backend in these databases. */
  readonly percent: number;
  /** Most common wait event while executing it ("CPU" when none was reported). */
  readonly topWait: string;
}

export interface ActivitySampler {
  /** Stops sampling and summarises; later calls return the same summary. */
  stop(): Promise<ActivityShare[]>;
}

const normalise = (q: string) => q.replace(/\s+/g, ' ').trim().slice(0, 160);

export async function startActivitySampler(adminUrl: string, databases: readonly string[], everyMs = 100): Promise<ActivitySampler> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'molt-bench' });
  await client.connect();
  const counts = new Map<string, { database: string; query: string; samples: number; waits: Map<string, number> }>();
  let busySamples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const r = await client.query<{ datname: string; query: string; wait: string | null }>(
        `SELECT datname, query, wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity
          WHERE datname = ANY($1) AND state = 'active' AND application_name <> 'molt-bench'`,
        [databases],
      );
      if (r.rows.length > 0) busySamples++;
      for (const row of r.rows) {
        const query = normalise(row.query);
        const key = `${row.datname}\u0000${query}`;
        let entry = counts.get(key);
        if (!entry) counts.set(key, (entry = { database: row.datname, query, samples: 0, waits: new Map() }));
        entry.samples++;
        const wait = row.wait ?? 'CPU';
        entry.waits.set(wait, (entry.waits.get(wait) ?? 0) + 1);
      }
      const wait = everyMs - (performance.now() - started);
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  })();
  let summary: Promise<ActivityShare[]> | undefined;
  const summarise = async (): Promise<ActivityShare[]> => {
    stopped = true;
    await loop.catch(() => undefined);
    await client.end();
    return [...counts.values()]
        .sort((a, b) => b.samples - a.samples)
        .slice(0, 12)
        .map((e) => ({
          database: e.database,
          query: e.query,
          samples: e.samples,
          percent: Math.round((e.samples / Math.max(1, busySamples)) * 1000) / 10,
          topWait: [...e.waits.entries()].sort((a, b) => b[1] - a[1])[0]![0],
        }));
  };
  return { stop: () => (summary ??= summarise()) };
}
