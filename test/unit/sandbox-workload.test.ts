/**
 * The sandbox's seed data and workload generator, without a database: a seed replays exactly the same
 * rows and transactions; every transaction mixes statements across the example tables; deletes come
 * children first; and the example schema's DDL has the foreign keys in every spelling.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Model, seedRows } from '../../src/sandbox/model.js';
import { Random } from '../../src/sandbox/random.js';
import { createTableStatements, insertStatements } from '../../src/sandbox/schema.js';
import { nextTransaction, type Transaction } from '../../src/sandbox/transactions.js';

function generate(seed: number, n: number): { seed: ReturnType<typeof seedRows>; txs: Transaction[]; model: Model } {
  const rng = new Random(seed);
  const model = new Model();
  const data = seedRows(rng, model, 30);
  const txs = Array.from({ length: n }, () => nextTransaction(rng, model));
  return { seed: data, txs, model };
}

describe('sandbox workload', () => {
  it('the same seed gives the same seed rows and the same transactions; another seed does not', () => {
    const a = generate(42, 500);
    const b = generate(42, 500);
    assert.deepEqual(a.seed, b.seed);
    assert.deepEqual(a.txs, b.txs);
    assert.deepEqual(a.model.counts, b.model.counts);
    assert.notDeepEqual(generate(43, 500).txs, a.txs);
  });

  it('covers inserts, updates and deletes on every table, mostly in multi-statement transactions', () => {
    const { txs } = generate(7, 1000);
    const sql = txs.flatMap((t) => t.statements.map((s) => s.sql));
    for (const table of ['employees', 'payments', 'orders']) {
      for (const verb of [`INSERT INTO ${table}`, `UPDATE ${table}`, `DELETE FROM ${table}`]) assert.ok(sql.some((s) => s.startsWith(verb)), verb);
    }
    const multi = txs.filter((t) => t.statements.length > 1).length;
    assert.ok(multi / txs.length > 0.6, `${multi} of ${txs.length} are multi-statement`);
    const kinds = new Set(txs.map((t) => t.kind));
    assert.deepEqual([...kinds].sort(), ['cancel-order', 'correction', 'hire', 'leaver', 'orders', 'refund', 'updates']);
  });

  it('a leaver goes children first, and a refund unlinks orders before the payment goes', () => {
    const { txs } = generate(9, 1500);
    for (const t of txs.filter((x) => x.kind === 'leaver')) {
      const order = t.statements.map((s) => /FROM (\w+)/.exec(s.sql)?.[1]);
      assert.equal(order.at(-1), 'employees');
      if (order.includes('orders') && order.includes('payments')) assert.ok(order.indexOf('orders') < order.indexOf('payments'));
    }
    for (const t of txs.filter((x) => x.kind === 'refund')) {
      assert.match(t.statements.at(-1)?.sql ?? '', /^DELETE FROM payments/);
      if (t.statements.length > 1) assert.match(t.statements[0]?.sql ?? '', /^UPDATE orders SET payment_id = NULL/);
    }
  });

  it('keeps the model consistent: counts match what the statements did', () => {
    const rng = new Random(5);
    const model = new Model();
    seedRows(rng, model, 30);
    let rows = model.counts.employees + model.counts.payments + model.counts.orders;
    for (let i = 0; i < 800; i++) {
      const t = nextTransaction(rng, model);
      rows += t.inserts - t.deletes;
    }
    assert.equal(model.counts.employees + model.counts.payments + model.counts.orders, rows);
  });

  it('renders the schema with foreign keys and exact literals for every flavour', () => {
    for (const flavour of ['crdb', 'postgres', 'mysql'] as const) {
      const ddl = createTableStatements(flavour).join('\n');
      assert.match(ddl, /FOREIGN KEY \(.employee_id.\) REFERENCES .employees./);
      assert.match(ddl, /FOREIGN KEY \(.payment_id.\) REFERENCES .payments./);
    }
    const [insert] = insertStatements('mysql', 'orders', [{ id: 1, employee_id: 2, payment_id: null, item: 'desk', quantity: 3, total: '10.50', note: "it's", created_at: '2024-01-02 03:04:05.000006' }]);
    assert.equal(insert, "INSERT INTO `orders` (`id`, `employee_id`, `payment_id`, `item`, `quantity`, `total`, `note`, `created_at`) VALUES (1, 2, NULL, 'desk', 3, '10.50', 'it''s', '2024-01-02 03:04:05.000006')");
    const [pgInsert] = insertStatements('postgres', 'payments', [{ id: 1, employee_id: 2, amount: '5.00', currency: 'EUR', status: 'settled', paid_at: '2024-01-02 03:04:05.000006' }]);
    assert.match(pgInsert as string, /'2024-01-02 03:04:05\.000006\+00'\)$/);
  });
});
