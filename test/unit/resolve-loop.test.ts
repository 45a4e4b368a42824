/**
 * The apply loop against an in-memory staging store and a fake applier: commit-then-mark ordering,
 * windows in HLC order, error classes, one-HLC-larger-than-a-page, and lease hand-over between two
 * coordinators sharing one store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { compareHlc, ZERO_HLC, type Hlc } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/log.js';
import { EngineMetrics } from '../../src/replicator/metrics.js';
import { ApplyCoordinator, type CoordinatorSettings } from '../../src/replicator/resolve/coordinator.js';
import type { ApplierPort, ApplyResult, LeaseStore, SchemaProgress, StagedRow, WindowStore } from '../../src/replicator/resolve/ports.js';
import type { ApplyPlan, SchemaInfo, TargetSchema } from '../../src/replicator/types.js';

const schema: TargetSchema = { parts: ['db', 'public'], key: 'db.public' };
const h = (n: number, l = 0): Hlc => ({ nanos: BigInt(n), logical: l });

class MemStore implements WindowStore, LeaseStore {
  rows: (StagedRow & { schema: string })[] = [];
  applied = new Map<string, Hlc>();
  resolved = new Map<string, Hlc>();
  leases = new Map<string, { holder: string; expires: number }>();
  log: string[] = [];
  failReads = false;
  /** Every readRange as [from nanos, upTo nanos, limit]. */
  reads: [bigint, bigint, number][] = [];
  /** Every retire as [from nanos or 'sweep', to nanos]. */
  retires: [bigint | 'sweep', bigint][] = [];
  counts = 0;

  stage(r: StagedRow) {
    this.rows.push({ ...r, schema: schema.key });
    if (!this.applied.has(schema.key)) this.applied.set(schema.key, ZERO_HLC);
  }
  resolve(at: Hlc) {
    if (!this.applied.has(schema.key)) this.applied.set(schema.key, ZERO_HLC);
    this.resolved.set(schema.key, at);
  }
  async progress(): Promise<SchemaProgress[]> {
    return [...this.applied.entries()].map(([key, applied]) => ({ schema: { key, parts: key.split('.') }, applied, resolved: this.resolved.get(key) ?? ZERO_HLC }));
  }
  private sorted() {
    return [...this.rows].sort((a, b) => compareHlc(a.hlc, b.hlc) || (a.table < b.table ? -1 : a.table > b.table ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  async readRange(key: string, applied: Hlc, upTo: Hlc, limit: number): Promise<StagedRow[]> {
    if (this.failReads) throw new Error('staging down');
    this.reads.push([applied.nanos, upTo.nanos, limit]);
    return this.sorted()
      .filter((r) => r.schema === key && compareHlc(r.hlc, applied) > 0 && compareHlc(r.hlc, upTo) <= 0)
      .slice(0, limit);
  }
  async readHlc(key: string, at: Hlc): Promise<StagedRow[]> {
    return this.sorted().filter((r) => r.schema === key && compareHlc(r.hlc, at) === 0);
  }
  async markApplied(key: string, to: Hlc, holder: string): Promise<boolean> {
    const l = this.leases.get(`apply:${key}`);
    if (!l || l.holder !== holder || l.expires <= Date.now()) return false;
    const cur = this.applied.get(key) ?? ZERO_HLC;
    if (compareHlc(to, cur) > 0) this.applied.set(key, to);
    this.log.push(`mark ${to.nanos}`);
    return true;
  }
  async retire(key: string, applied: Hlc, from?: Hlc): Promise<number> {
    this.retires.push([from ? from.nanos : 'sweep', applied.nanos]);
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => !(r.schema === key && compareHlc(r.hlc, applied) <= 0 && (!from || compareHlc(r.hlc, from) > 0)));
    return before - this.rows.length;
  }
  async countPending(key: string, applied: Hlc, limit: number): Promise<number> {
    this.counts++;
    return Math.min(limit, this.rows.filter((r) => r.schema === key && compareHlc(r.hlc, applied) > 0).length);
  }
  async acquire(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const l = this.leases.get(name);
    if (l && l.expires > Date.now() && l.holder !== holder) return false;
    this.leases.set(name, { holder, expires: Date.now() + ttlMs });
    return true;
  }
  async renew(name: string, holder: string, ttlMs: number): Promise<boolean> {
    const l = this.leases.get(name);
    if (!l || l.holder !== holder || l.expires <= Date.now()) return false;
    l.expires = Date.now() + ttlMs;
    return true;
  }
  async release(name: string, holder: string): Promise<void> {
    if (this.leases.get(name)?.holder === holder) this.leases.delete(name);
  }
}

class FakeApplier implements ApplierPort {
  plans: ApplyPlan[] = [];
  failures: Array<{ errorClass: 'retry' | 'defer' | 'fatal'; message: string }> = [];
  constructor(
    private readonly store: MemStore,
    readonly name = 'a',
  ) {}
  async schema(): Promise<SchemaInfo> {
    return { schema, tables: new Map([['t', { name: 't', columns: [], primaryKey: ['id'] }]]), foreignKeys: [] };
  }
  async apply(plan: ApplyPlan): Promise<ApplyResult> {
    const f = this.failures.shift();
    if (f) throw Object.assign(new Error(f.message), { errorClass: f.errorClass, table: 't' });
    this.plans.push(plan);
    this.store.log.push(`commit ${this.name} ${plan.to.nanos}`);
    const n = plan.ops.reduce((s, o) => s + o.rows.length, 0);
    return { counts: { upserts: new Map([['t', n]]), deletes: new Map() }, attempts: 1, durationMs: 1, statements: plan.ops.length };
  }
}

const settings = (over: Partial<CoordinatorSettings> = {}): CoordinatorSettings => ({
  scanSize: 100,
  flushSize: 10,
  collapse: true,
  parallelApplies: false,
  quiescentMs: 50,
  applyTimeoutMs: 5000,
  pollMs: 20,
  retireEveryMs: 1000,
  parallelism: 4,
  queueSize: 1000,
  countEveryMs: 50,
  leaseTimings: { ttlMs: 400, renewEveryMs: 100, guardMs: 100 },
  ...over,
});

function coordinator(store: MemStore, applier: FakeApplier, over: Partial<CoordinatorSettings> = {}, afterCommit?: () => void) {
  const metrics = new EngineMetrics(new Registry(), { version: 'test' });
  return { co: new ApplyCoordinator({ store, applier, log: silentLogger(), metrics, settings: settings(over), afterCommit }), metrics };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const row = (key: number, at: Hlc, v = 0): StagedRow => ({ hlc: at, table: 't', key: `[${key}]`, after: `{"id":${key},"v":${v}}`, before: null });

test('applies staged rows only up to a resolved timestamp, commits before marking, windows in order', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  const { co } = coordinator(store, applier);
  store.stage(row(1, h(10)));
  store.stage(row(2, h(20)));
  store.stage(row(3, h(30)));
  await co.start();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(applier.plans.length, 0, 'nothing before a resolved timestamp');
  store.resolve(h(20));
  co.noteResolved(schema, h(20));
  await until(() => compareHlc(store.applied.get(schema.key) ?? ZERO_HLC, h(20)) === 0);
  store.resolve(h(35));
  co.noteResolved(schema, h(35));
  await until(() => compareHlc(store.applied.get(schema.key) ?? ZERO_HLC, h(35)) === 0);
  await co.stop(1000);
  assert.deepEqual(store.log, ['commit a 20', 'mark 20', 'commit a 35', 'mark 35']);
  assert.deepEqual(
    applier.plans.map((p) => p.ops.flatMap((o) => o.rows.map((r) => r.key))),
    [['[1]', '[2]'], ['[3]']],
  );
  assert.equal(store.rows.length, 0, 'applied rows retired');
  assert.equal(store.leases.size, 0, 'lease released on stop');
});

test('a page boundary never splits one HLC; an HLC bigger than a page is applied whole', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  const { co } = coordinator(store, applier, { scanSize: 3 });
  for (let k = 1; k <= 2; k++) store.stage(row(k, h(10)));
  for (let k = 3; k <= 7; k++) store.stage(row(k, h(20, 1)));
  store.stage(row(8, h(30)));
  store.resolve(h(40));
  await co.start();
  await until(() => compareHlc(store.applied.get(schema.key) ?? ZERO_HLC, h(40)) === 0);
  await co.stop(1000);
  assert.deepEqual(
    applier.plans.map((p) => [p.to.nanos, p.ops.reduce((s, o) => s + o.rows.length, 0)]),
    [
      [10n, 2],
      [20n, 5],
      [40n, 1],
    ],
  );
});

test('error classes: defer and fatal keep the window staged and retry; health reports the reason', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  applier.failures.push({ errorClass: 'defer', message: 'fk violation' }, { errorClass: 'defer', message: 'fk violation' }, { errorClass: 'fatal', message: 'column "zz" does not exist' });
  const { co, metrics } = coordinator(store, applier);
  store.stage(row(1, h(10)));
  store.resolve(h(10));
  await co.start();
  await until(() => co.problems().length > 0);
  assert.match(co.problems()[0] ?? '', /db\.public: .*(foreign-key|apply failed)/);
  assert.deepEqual(store.log, [], 'nothing marked while failing');
  await until(() => compareHlc(store.applied.get(schema.key) ?? ZERO_HLC, h(10)) === 0, 10_000);
  assert.deepEqual(co.problems(), []);
  const text = await metrics.registry.metrics();
  assert.match(text, /failback_apply_window_retries_total\{schema="db.public",class="defer"\} 2/);
  assert.match(text, /apply_errors_total\{schema="db.public",table="t"\} 3/);
  assert.match(text, /apply_upserts_total\{schema="db.public",table="t"\} 1/);
  await co.stop(1000);
});

test('staging read failures are retried without losing the window', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  const { co } = coordinator(store, applier);
  store.stage(row(1, h(10)));
  store.resolve(h(10));
  store.failReads = true;
  await co.start();
  await until(() => co.problems().some((p) => /staging/.test(p)));
  store.failReads = false;
  await until(() => compareHlc(store.applied.get(schema.key) ?? ZERO_HLC, h(10)) === 0, 10_000);
  await co.stop(1000);
  assert.equal(applier.plans.length, 1);
});

test('afterCommit runs between the target commit and the mark', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  const { co } = coordinator(store, applier, {}, () => store.log.push('hook'));
  store.stage(row(1, h(10)));
  store.resolve(h(10));
  await co.start();
  await until(() => store.log.includes('mark 10'));
  await co.stop(1000);
  assert.deepEqual(store.log, ['commit a 10', 'hook', 'mark 10']);
});

test('two coordinators on one store: one applies; the other takes over when the holder stops', async () => {
  const store = new MemStore();
  const a = new FakeApplier(store, 'a');
  const b = new FakeApplier(store, 'b');
  const A = coordinator(store, a).co;
  const B = coordinator(store, b).co;
  store.stage(row(1, h(10)));
  store.resolve(h(10));
  await A.start();
  await until(() => store.log.includes('mark 10'));
  await B.start();
  store.stage(row(2, h(20)));
  store.resolve(h(20));
  await until(() => store.log.includes('mark 20'));
  assert.equal(b.plans.length, 0, 'the non-holder never applies');
  // Simulate the holder dying without releasing: stop its loop but keep its lease row until expiry.
  const leaseBefore = store.leases.get('apply:db.public');
  await A.stop(500);
  if (leaseBefore) store.leases.set('apply:db.public', { ...leaseBefore, expires: Date.now() + 300 });
  store.stage(row(3, h(30)));
  store.resolve(h(30));
  await until(() => store.log.includes('mark 30'), 5000);
  assert.equal(b.plans.length, 1);
  assert.ok(store.log.includes('commit b 30'));
  await B.stop(500);
});

test('each applied window is retired alone, (from, to]; the sweep runs first and then on schedule and takes late re-sends', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  const { co } = coordinator(store, applier, { retireEveryMs: 60_000 });
  store.stage(row(1, h(10)));
  store.resolve(h(10));
  await co.start();
  await until(() => store.log.includes('mark 10'));
  store.stage(row(2, h(20)));
  store.resolve(h(20));
  co.noteResolved(schema, h(20));
  await until(() => store.log.includes('mark 20'));
  // A late re-send below the checkpoint (it raced the mark): no window retire covers it.
  store.stage(row(9, h(15)));
  store.stage(row(3, h(30)));
  store.resolve(h(30));
  co.noteResolved(schema, h(30));
  await until(() => store.log.includes('mark 30'));
  await until(() => store.retires.length === 3);
  assert.deepEqual(store.retires, [
    ['sweep', 10n],
    [10n, 20n],
    [20n, 30n],
  ]);
  assert.deepEqual(
    store.rows.map((r) => r.key),
    ['[9]'],
    'the re-send below the checkpoint waits for the sweep',
  );
  await co.stop(1000);

  // Next start (sweep interval short): the sweep takes it.
  const again = coordinator(store, applier, { retireEveryMs: 1 }).co;
  store.stage(row(4, h(40)));
  store.resolve(h(40));
  await again.start();
  await until(() => store.log.includes('mark 40'));
  await until(() => store.rows.length === 0);
  // With a 1 ms interval the sweep may run more than once before this line; each one is a sweep at 40.
  const later = store.retires.slice(3);
  assert.ok(later.length >= 1);
  assert.deepEqual(later, later.map(() => ['sweep', 40n]));
  await again.stop(1000);
});

test('staging reads are bounded to a span of HLCs that adapts; windows stay whole and in order', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  const { co } = coordinator(store, applier, { scanSize: 4 });
  // Sparse rows: one per 3 s of HLC, then a dense run of 9 rows within one second.
  const sec = 1_000_000_000;
  for (let i = 1; i <= 5; i++) store.stage(row(i, h(i * 3 * sec)));
  for (let i = 0; i < 9; i++) store.stage(row(100 + i, h(20 * sec + i * 1000)));
  store.resolve(h(30 * sec));
  await co.start();
  await until(() => compareHlc(store.applied.get(schema.key) ?? ZERO_HLC, h(30 * sec)) === 0);
  await co.stop(1000);
  // Everything applied once, in HLC order, and no plan holds more than scanSize rows.
  const keys = applier.plans.flatMap((p) => p.ops.flatMap((o) => o.rows.map((r) => r.key)));
  assert.deepEqual(keys, [...[1, 2, 3, 4, 5].map((i) => `[${i}]`), ...Array.from({ length: 9 }, (_, i) => `[${100 + i}]`)]);
  for (const p of applier.plans) assert.ok(p.ops.reduce((n, o) => n + o.rows.length, 0) <= 4);
  for (let i = 1; i < applier.plans.length; i++) assert.equal(compareHlc(applier.plans[i]!.from, applier.plans[i - 1]!.to), 0, 'windows are contiguous');
  // The first read reaches one second, not the whole 30 s to the resolved timestamp; no read asks for
  // more than a page.
  assert.equal(store.reads[0]![1] - store.reads[0]![0], BigInt(sec));
  for (const [, , limit] of store.reads) assert.ok(limit <= 5);
});

test('the backlog is estimated from staged and applied rows; staging is counted only now and then', async () => {
  const store = new MemStore();
  const applier = new FakeApplier(store);
  const { co, metrics } = coordinator(store, applier, { countEveryMs: 10, correctEveryMs: 60_000, queueSize: 10 });
  store.stage(row(1, h(10)));
  await co.start();
  assert.equal(store.counts, 1, 'counted once at start');
  assert.equal(co.statuses()[0]?.backlog, 1);
  for (let k = 2; k <= 12; k++) store.stage(row(k, h(20)));
  co.noteStaged(schema.key, 11);
  assert.equal(co.overloaded(schema.key), true, '12 > queue size 10');
  assert.match(await metrics.registry.metrics(), /target_apply_queue_size\{schema="db.public"\} 12/);
  store.resolve(h(20));
  co.noteResolved(schema, h(20));
  await until(() => store.log.includes('mark 20'));
  await until(() => co.statuses()[0]?.backlog === 0);
  assert.equal(co.overloaded(schema.key), false);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(store.counts, 1, 'no count while this instance holds the lease and the estimate agrees');
  await co.stop(1000);
});

test('a count that ran while rows were staged is repeated once the schema is quiet', async () => {
  /** Stages a row (as the sink would) while the next count runs, so the count may see it twice. */
  class OverlapStore extends MemStore {
    duringCount?: () => void;
    override async countPending(key: string, applied: Hlc, limit: number): Promise<number> {
      const hook = this.duringCount;
      this.duringCount = undefined;
      hook?.();
      return super.countPending(key, applied, limit);
    }
  }
  const store = new OverlapStore();
  const { co } = coordinator(store, new FakeApplier(store), { countEveryMs: 30, correctEveryMs: 60_000, queueSize: 100 });
  store.stage(row(1, h(10)));
  store.duringCount = () => {
    store.stage(row(2, h(20)));
    co.noteStaged(schema.key, 1);
  };
  await co.start();
  assert.equal(co.statuses()[0]?.backlog, 3, 'the overlapping count erred high (row 2 counted twice)');
  await until(() => co.statuses()[0]?.backlog === 2, 2000);
  assert.equal(store.counts, 2, 'recounted once, when quiet');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(store.counts, 2, 'an exact count is not repeated');
  await co.stop(1000);
});

test('another instance at work makes the backlog counts frequent again', async () => {
  const store = new MemStore();
  const a = new FakeApplier(store, 'a');
  const b = new FakeApplier(store, 'b');
  const A = coordinator(store, a, { countEveryMs: 20, correctEveryMs: 60_000 }).co;
  const B = coordinator(store, b, { countEveryMs: 20, correctEveryMs: 60_000 }).co;
  store.stage(row(1, h(10)));
  store.resolve(h(10));
  await A.start();
  await until(() => store.log.includes('mark 10'));
  await B.start();
  // Rows staged through A are applied by A; B sees the checkpoint move (and the lease held elsewhere),
  // so it counts every countEveryMs instead of trusting its own estimate.
  B.noteStaged(schema.key, 1);
  store.stage(row(2, h(20)));
  store.resolve(h(20));
  await until(() => store.log.includes('mark 20'));
  const before = store.counts;
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(store.counts - before >= 3, `B recounts (${store.counts - before} counts)`);
  await until(() => B.statuses()[0]?.backlog === 0, 2000);
  await A.stop(500);
  await B.stop(500);
});
