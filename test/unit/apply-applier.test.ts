/**
 * Applier behaviour against a scripted TargetPool: one transaction per plan, retry with backoff,
 * defer on FK violations, fatal otherwise, schema cache and refresh, delete-key mapping, abort and
 * close. The live-database versions of these (real deadlocks, real FK violations) are in
 * test/integration/apply-engine.test.ts.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { JsonValue } from '../../src/lib/exact-json.js';
import { ZERO_HLC } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/log.js';
import { Applier, ApplyError, type ApplierOptions } from '../../src/replicator/apply/index.js';
import { classifyPg } from '../../src/replicator/dialects/postgres/errors.js';
import {
  TargetSchemaError,
  type ApplyPlan,
  type Dialect,
  type PrivilegeReport,
  type SchemaInfo,
  type TableInfo,
  type TargetPool,
  type TargetSchema,
  type TargetTx,
  type WriteOptions,
} from '../../src/replicator/types.js';
import { parseExactJson } from '../../src/lib/exact-json.js';

const SCHEMA: TargetSchema = { parts: ['db', 'public'], key: 'db.public' };

const table = (name: string, pk: string[], cols: string[]): TableInfo => ({
  name,
  primaryKey: pk,
  columns: [...pk, ...cols.filter((c) => !pk.includes(c))].map((c) => ({
    name: c,
    type: 'text',
    class: 'text' as const,
    nullable: !pk.includes(c),
    generated: false,
    hasDefault: false,
  })),
});

type Write = { kind: 'upsert' | 'delete'; table: string; data: unknown };

/** A TargetPool whose catalog, failures and writes the test controls. */
class ScriptedPool implements TargetPool {
  readonly dialect = { name: 'postgres' } as Dialect;
  tables = new Map<string, TableInfo>();
  schemaExists = true;
  introspections = 0;
  transactions = 0;
  committed: Write[] = [];
  /** Errors thrown by the next writes, one per transaction attempt. */
  failures: unknown[] = [];
  /** Called on each write; may throw. */
  onWrite: (w: Write) => void = () => undefined;
  closed = false;

  async ping() {}
  async version() {
    return 'PostgreSQL 15 (scripted)';
  }
  async currentUser() {
    return 'tester';
  }
  async introspect(schema: TargetSchema): Promise<SchemaInfo | undefined> {
    this.introspections++;
    if (!this.schemaExists) return undefined;
    return { schema: { parts: ['db', 'public'], key: schema.key }, tables: new Map([...this.tables].map(([k, v]) => [k, v])), foreignKeys: [] };
  }
  async transaction<T>(fn: (tx: TargetTx) => Promise<T>): Promise<T> {
    this.transactions++;
    const pending: Write[] = [];
    const failure = this.failures.shift();
    const write = async (w: Write, options?: WriteOptions) => {
      options?.signal?.throwIfAborted();
      if (failure !== undefined) throw failure;
      this.onWrite(w);
      pending.push(w);
      return { rows: Array.isArray(w.data) ? w.data.length : 0, statements: 1 };
    };
    const tx: TargetTx = {
      upsert: (_s, t, rows, o) => write({ kind: 'upsert', table: t.name, data: rows }, o),
      delete: (_s, t, keys, o) => write({ kind: 'delete', table: t.name, data: keys.map((k) => k.map(String)) }, o),
    };
    const r = await fn(tx);
    this.committed.push(...pending);
    return r;
  }
  classify(err: unknown) {
    return classifyPg(err);
  }
  async checkPrivileges(): Promise<PrivilegeReport> {
    return { user: 'tester', missing: new Map(), absentTables: [] };
  }
  grantStatements() {
    return [];
  }
  async execAdmin() {}
  async readRows() {
    return [];
  }
  async close() {
    this.closed = true;
  }
}

const pgError = (code: string, message = `error ${code}`) => Object.assign(new Error(message), { code });

function setup(overrides: Partial<ApplierOptions> = {}) {
  const pool = new ScriptedPool();
  pool.tables.set('parents', table('parents', ['id'], ['name']));
  pool.tables.set('children', table('children', ['id'], ['parent_id']));
  pool.tables.set('vehicles', table('vehicles', ['id', 'city'], ['status']));
  const applier = new Applier({
    pool,
    log: silentLogger(),
    maxRetries: 3,
    retryInitialBackoffMs: 1,
    retryMaxBackoffMs: 5,
    retryMultiplier: 2,
    random: () => 0.5,
    ...overrides,
  });
  return { pool, applier };
}

const up = (key: string, after: string) => ({ key, after, hlc: ZERO_HLC });
const del = (key: string, before?: string) => ({ key, before, hlc: ZERO_HLC });
const plan = (ops: ApplyPlan['ops']): ApplyPlan => ({ schema: SCHEMA, from: ZERO_HLC, to: ZERO_HLC, ops });

const basicPlan = plan([
  { kind: 'upsert', table: 'parents', rows: [up('[1]', '{"id":1,"name":"p"}')] },
  { kind: 'upsert', table: 'Children', rows: [up('[10]', '{"id":10,"parent_id":1}'), up('[11]', '{"id":11,"parent_id":1}')] },
  { kind: 'delete', table: 'children', rows: [del('[12]')] },
]);

describe('Applier', () => {
  it('applies a plan in one transaction, ops in order, counting per table', async () => {
    const { pool, applier } = setup();
    const out = await applier.apply(basicPlan);
    assert.equal(pool.transactions, 1);
    assert.deepEqual(
      pool.committed.map((w) => `${w.kind}:${w.table}`),
      ['upsert:parents', 'upsert:children', 'delete:children'],
    );
    assert.deepEqual([...out.counts.upserts], [['parents', 1], ['children', 2]]);
    assert.deepEqual([...out.counts.deletes], [['children', 1]]);
    assert.equal(out.attempts, 1);
    assert.equal(out.statements, 3);
    assert.ok(out.durationMs >= 0);
  });

  it('does not open a transaction for an empty plan', async () => {
    const { pool, applier } = setup();
    const out = await applier.apply(plan([{ kind: 'upsert', table: 'parents', rows: [] }]));
    assert.equal(pool.transactions, 0);
    assert.equal(out.counts.upserts.size, 0);
  });

  it('retries deadlocks and serialization failures with backoff until they succeed', async () => {
    const { pool, applier } = setup();
    pool.failures = [pgError('40P01', 'deadlock detected'), pgError('40001', 'could not serialize access')];
    const out = await applier.apply(basicPlan);
    assert.equal(out.attempts, 3);
    assert.equal(pool.transactions, 3);
    assert.equal(pool.committed.length, 3, 'only the successful attempt committed');
  });

  it('gives up after maxRetries with an ApplyError of class retry', async () => {
    const { pool, applier } = setup({ maxRetries: 2 });
    pool.failures = [pgError('40P01'), pgError('40P01'), pgError('40P01'), pgError('40P01')];
    const e = await applier.apply(basicPlan).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    assert.equal(e.errorClass, 'retry');
    assert.equal(e.code, 'APPLY_RETRIES_EXHAUSTED');
    assert.equal(e.attempts, 3);
    assert.match(e.message, /40P01/);
    assert.equal(pool.committed.length, 0);
  });

  it('hands foreign-key violations back as defer without retrying', async () => {
    const { pool, applier } = setup();
    pool.failures = [pgError('23503', 'insert or update on table "children" violates foreign key constraint')];
    const e = await applier.apply(basicPlan).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    assert.equal(e.errorClass, 'defer');
    assert.equal(e.table, 'parents');
    assert.equal(pool.transactions, 1);
  });

  it('reports anything else as fatal, with the code and without secrets', async () => {
    const { pool, applier } = setup();
    pool.failures = [pgError('23505', 'duplicate key; dsn postgres://app:hunter2@db/x')];
    const e = await applier.apply(basicPlan).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    assert.equal(e.errorClass, 'fatal');
    assert.match(e.message, /23505/);
    assert.ok(!e.message.includes('hunter2'), e.message);
    assert.equal(pool.transactions, 1);
  });

  it('caches the schema and re-reads it after schemaRefreshMs', async () => {
    const { pool, applier } = setup();
    await applier.apply(basicPlan);
    await applier.apply(basicPlan);
    assert.equal(pool.introspections, 1);
    const { pool: pool2, applier: fresh } = setup({ schemaRefreshMs: 0 });
    await fresh.apply(basicPlan);
    await fresh.apply(basicPlan);
    assert.equal(pool2.introspections, 2);
    assert.equal((await applier.schema(SCHEMA, { refresh: true }))?.tables.size, 3);
    assert.equal(pool.introspections, 2);
  });

  it('re-reads the schema once for an unknown table, then fails naming it', async () => {
    const { pool, applier } = setup();
    await applier.schema(SCHEMA);
    pool.tables.set('late', table('late', ['id'], []));
    await applier.apply(plan([{ kind: 'upsert', table: 'late', rows: [up('[1]', '{"id":1}')] }]));
    assert.equal(pool.introspections, 2);
    const e = await applier.apply(plan([{ kind: 'upsert', table: 'ghosts', rows: [up('[1]', '{"id":1}')] }])).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    assert.equal(e.errorClass, 'fatal');
    assert.equal(e.code, 'APPLY_UNKNOWN_TABLE');
    assert.equal(e.table, 'ghosts');
    assert.equal(pool.introspections, 3);
  });

  it('fails an unknown schema', async () => {
    const { pool, applier } = setup();
    pool.schemaExists = false;
    const e = await applier.apply(basicPlan).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    assert.equal(e.code, 'APPLY_UNKNOWN_SCHEMA');
  });

  it('on a schema mismatch refreshes once: applies if the catalog changed, else fails naming table and column', async () => {
    const { pool, applier } = setup();
    await applier.schema(SCHEMA);
    const before = pool.introspections;
    // The catalog does not change: one refresh, then a fatal error.
    pool.onWrite = (w) => {
      if (w.table === 'parents') throw new TargetSchemaError('table parents has no column "colour"', 'parents', 'colour');
    };
    const e = await applier.apply(basicPlan).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    assert.equal(e.errorClass, 'fatal');
    assert.equal(e.code, 'APPLY_SCHEMA_MISMATCH');
    assert.deepEqual([e.table, e.column], ['parents', 'colour']);
    assert.equal(pool.introspections, before + 1);
    assert.equal(pool.transactions, 1);

    // The column appears: the refresh sees a different catalog and the plan is tried again.
    let calls = 0;
    pool.onWrite = (w) => {
      if (w.table === 'parents' && calls++ === 0) {
        pool.tables.set('parents', table('parents', ['id'], ['name', 'colour', 'size']));
        throw new TargetSchemaError('table parents has no column "size"', 'parents', 'size');
      }
    };
    const out = await applier.apply(basicPlan);
    assert.equal(out.attempts, 2);
  });

  it('maps delete keys through the before image, configured columns or learned order', async () => {
    const { pool, applier } = setup();
    await applier.apply(
      plan([
        // Source key order is (city, id); the target's is (id, city).
        { kind: 'delete', table: 'vehicles', rows: [del('["rome","v0"]', '{"city":"rome","id":"v0"}')] },
        { kind: 'upsert', table: 'vehicles', rows: [up('["rome","v1"]', '{"city":"rome","id":"v1","status":"ok"}')] },
        { kind: 'delete', table: 'vehicles', rows: [del('["paris","v2"]')] },
      ]),
    );
    const deletes = pool.committed.filter((w) => w.kind === 'delete').map((w) => w.data);
    assert.deepEqual(deletes, [[['v0', 'rome']], [['v2', 'paris']]]);

    const { pool: p2, applier: configured } = setup({ sourceKeyColumns: new Map([['vehicles', ['city', 'id']]]) });
    await configured.apply(plan([{ kind: 'delete', table: 'vehicles', rows: [del('["oslo","v3"]')] }]));
    assert.deepEqual(p2.committed[0]!.data, [['v3', 'oslo']]);
  });

  it('stops at an abort between statements or during backoff, with the signal reason', async () => {
    const { pool, applier } = setup({ retryInitialBackoffMs: 5000, retryMaxBackoffMs: 5000 });
    pool.failures = [pgError('40P01')];
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(new Error('shutting down')), 30);
    await assert.rejects(applier.apply(basicPlan, ac.signal), /shutting down/);
    assert.ok(Date.now() - started < 2000);
    await assert.rejects(applier.apply(basicPlan, AbortSignal.abort(new Error('early'))), /early/);
    assert.equal(pool.committed.length, 0);
  });

  it('an abort during the last statement (lease lost) rolls back instead of committing', async () => {
    const { pool, applier } = setup();
    const ac = new AbortController();
    let writes = 0;
    const total = basicPlan.ops.length;
    pool.onWrite = () => {
      // The target is still executing the last statement when the lease guard fires.
      if (++writes === total) ac.abort(new Error('lease lost'));
    };
    await assert.rejects(applier.apply(basicPlan, ac.signal), /lease lost/);
    assert.equal(writes, total, 'every statement ran');
    assert.equal(pool.committed.length, 0, 'nothing committed');
  });

  it('close() refuses further plans and closes the pool only when it owns it', async () => {
    const { pool, applier } = setup();
    await applier.close();
    assert.equal(pool.closed, false);
    await assert.rejects(applier.apply(basicPlan), (e: unknown) => e instanceof ApplyError && e.code === 'APPLY_CLOSED');
    const { pool: owned, applier: owner } = setup({ ownsPool: true });
    await owner.close();
    assert.equal(owned.closed, true);
  });

  it('keeps INT8 delete keys exact end to end', async () => {
    const { pool, applier } = setup();
    await applier.apply(plan([{ kind: 'delete', table: 'parents', rows: [del('[1101234051444375553]')] }]));
    assert.deepEqual(pool.committed[0]!.data, [['1101234051444375553']]);
    assert.equal(String((parseExactJson('[1101234051444375553]') as JsonValue[])[0]), '1101234051444375553');
  });
});

describe('ApplyError causes', () => {
  it('keep the codes classification needs and drop statement text and values', async () => {
    const { pool, applier } = setup({ maxRetries: 0 });
    pool.failures = [Object.assign(new Error('deadlock detected'), { code: '40P01', detail: 'Process 1 waits', sql: "INSERT INTO t VALUES ('a row')" })];
    const e = await applier.apply(basicPlan).catch((x: unknown) => x);
    assert.ok(e instanceof ApplyError);
    const cause = e.cause as Record<string, unknown>;
    assert.equal(cause.code, '40P01');
    assert.equal(cause.detail, 'Process 1 waits');
    assert.equal(cause.sql, undefined);
    assert.equal(e.errorClass, 'retry');
  });
});

describe('Applier with two-step writes', () => {
  /** A pool whose transactions offer prepareUpsert/prepareDelete and log prepare, start and end. */
  function pipelined(options: { failRun?: string; failPrepare?: string } = {}) {
    const { pool, applier } = setup();
    const log: string[] = [];
    pool.transaction = async <T>(fn: (tx: TargetTx) => Promise<T>): Promise<T> => {
      pool.transactions++;
      const prepare = (kind: string, t: TableInfo, n: number) => {
        log.push(`prepare ${kind} ${t.name}`);
        if (options.failPrepare === t.name) throw new TargetSchemaError(`table ${t.name} has no column "zz"`, t.name, 'zz');
        return async () => {
          log.push(`start ${kind} ${t.name}`);
          await new Promise((r) => setTimeout(r, 5));
          if (options.failRun === t.name) throw pgError('23503', `fk violation on ${t.name}`);
          log.push(`end ${kind} ${t.name}`);
          return { rows: n, statements: 1 };
        };
      };
      const tx: TargetTx = {
        upsert: () => Promise.reject(new Error('the two-step form is used')),
        delete: () => Promise.reject(new Error('the two-step form is used')),
        prepareUpsert: (_s, t, rows) => prepare('upsert', t, rows.length),
        prepareDelete: (_s, t, keys) => prepare('delete', t, keys.length),
      };
      return fn(tx);
    };
    return { pool, applier, log };
  }

  it('prepares each op while the one before runs, and still runs them strictly in order', async () => {
    const { applier, log } = pipelined();
    const out = await applier.apply(basicPlan);
    assert.deepEqual(log, [
      'prepare upsert parents',
      'start upsert parents',
      'prepare upsert children',
      'end upsert parents',
      'start upsert children',
      'prepare delete children',
      'end upsert children',
      'start delete children',
      'end delete children',
    ]);
    assert.deepEqual([...out.counts.upserts], [['parents', 1], ['children', 2]]);
    assert.deepEqual([...out.counts.deletes], [['children', 1]]);
    assert.equal(out.statements, 3);
  });

  it('reports the earlier op failing before a later op that could not be prepared', async () => {
    const { applier, log } = pipelined({ failRun: 'parents', failPrepare: 'children' });
    await assert.rejects(applier.apply(basicPlan), (e: unknown) => e instanceof ApplyError && e.errorClass === 'defer' && e.table === 'parents');
    assert.ok(!log.includes('start upsert children'), 'nothing runs after a failure');
  });

  it('a schema error while preparing names its table, after the op before finished', async () => {
    const { applier, log } = pipelined({ failPrepare: 'children' });
    await assert.rejects(applier.apply(basicPlan), (e: unknown) => e instanceof ApplyError && e.errorClass === 'fatal' && e.table === 'children');
    assert.deepEqual(log.slice(0, 4), ['prepare upsert parents', 'start upsert parents', 'prepare upsert children', 'end upsert parents']);
  });
});
