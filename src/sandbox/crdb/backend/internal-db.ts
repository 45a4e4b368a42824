/**
 * The emulator's own connections to the backend (stamper, feed manager, bootstrap). Simple-protocol
 * queries only, with every value returned as text: INT8, NUMERIC and JSONB stay exact strings and
 * never pass through JavaScript numbers. Against embedded PGlite every query (or transaction) runs
 * under the shared gate so it cannot interleave with a client's extended-protocol batch.
 */
import pg from 'pg';
import type { Gate } from '../server/gate.js';

export type Row = Record<string, string | null>;

export interface Queryable {
  query(sql: string): Promise<Row[]>;
}

const TEXT_TYPES = {
  // Every column comes back as the backend's text form.
  getTypeParser: () => (value: string) => value,
};

export class InternalDb implements Queryable {
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(
    url: string,
    private readonly gate: Gate | undefined,
    max = 4,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max, types: TEXT_TYPES as unknown as pg.CustomTypesConfig, application_name: 'crdb-emulator' });
    // An idle client error (backend restart) must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async query(sql: string): Promise<Row[]> {
    const run = async () => {
      const res = (await this.pool.query(sql)) as unknown as pg.QueryResult<Row> | Array<pg.QueryResult<Row>>;
      const last = Array.isArray(res) ? res[res.length - 1] : res;
      return last?.rows ?? [];
    };
    return this.gate ? this.gate.run(run) : run();
  }

  /** Runs fn inside one transaction on one connection (REPEATABLE READ when asked). */
  async transaction<T>(fn: (q: Queryable) => Promise<T>, isolation: 'READ COMMITTED' | 'REPEATABLE READ' = 'READ COMMITTED'): Promise<T> {
    const run = async () => {
      const client = await this.pool.connect();
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const q: Queryable = {
          query: async (sql) => ((await client.query(sql)) as unknown as pg.QueryResult<Row>).rows,
        };
        const out = await fn(q);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    };
    return this.gate ? this.gate.run(run) : run();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
