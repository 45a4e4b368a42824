/**
 * The workload's transactions: each is a short list of parameterised statements on CockroachDB
 * (inserts, updates and deletes across employees, payments and orders) that respects the foreign keys,
 * drawn from the Model with a seeded Random. Generating a transaction updates the model as if it
 * committed; the caller runs it and stops everything if it does not. Pure: no database access.
 */
import type { Model } from './model.js';
import type { Random } from './random.js';
import { columnNames, DEPARTMENTS, PAYMENT_STATUSES, valueFor, type ExampleTable, type Row, type Value } from './schema.js';

export interface Statement {
  readonly sql: string;
  readonly params: readonly Value[];
}

export interface Transaction {
  readonly kind: TransactionKind;
  readonly statements: readonly Statement[];
  /** Row changes the statements make (what the target must end up applying, before collapsing). */
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
}

export type TransactionKind = 'hire' | 'orders' | 'updates' | 'cancel-order' | 'refund' | 'correction' | 'leaver';

function insert(table: ExampleTable, row: Row): Statement {
  const cols = columnNames(table);
  return {
    sql: `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`,
    params: cols.map((c) => valueFor('crdb', table, c, row[c] ?? null)),
  };
}

class Builder {
  readonly statements: Statement[] = [];
  inserts = 0;
  updates = 0;
  deletes = 0;

  insert(table: ExampleTable, row: Row): void {
    this.statements.push(insert(table, row));
    this.inserts++;
  }

  update(sql: string, params: Value[], rows = 1): void {
    this.statements.push({ sql, params });
    this.updates += rows;
  }

  delete(sql: string, params: Value[], rows = 1): void {
    this.statements.push({ sql, params });
    this.deletes += rows;
  }
}

const WEIGHTS: ReadonlyArray<[TransactionKind, number]> = [
  ['hire', 18],
  ['orders', 26],
  ['updates', 26],
  ['cancel-order', 10],
  ['refund', 8],
  ['correction', 6],
  ['leaver', 6],
];

function chooseKind(rng: Random): TransactionKind {
  const total = WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let r = rng.next() * total;
  for (const [kind, w] of WEIGHTS) {
    if ((r -= w) < 0) return kind;
  }
  return 'updates';
}

/** The next transaction of the workload. Falls back to a hire when the chosen kind has nothing to act on. */
export function nextTransaction(rng: Random, model: Model): Transaction {
  const b = new Builder();
  let kind = chooseKind(rng);
  if (model.employees.size < 3 && kind !== 'hire') kind = 'hire';
  switch (kind) {
    case 'hire': {
      // A new employee with a payment and orders, and a raise before the transaction ends: only the
      // last image of the employee row leaves CockroachDB.
      const e = model.newEmployee(rng);
      b.insert('employees', e);
      const eid = e.id as number;
      const p = model.newPayment(rng, eid);
      b.insert('payments', p);
      for (let i = rng.int(1, 2); i > 0; i--) b.insert('orders', model.newOrder(rng, eid, rng.chance(0.5) ? (p.id as number) : null));
      if (rng.chance(0.3)) b.update('UPDATE employees SET salary = salary + $1 WHERE id = $2', [rng.money(100, 5000), eid]);
      break;
    }
    case 'orders': {
      const eid = model.employees.pick(rng) as number;
      let pid = model.paymentOf(rng, eid);
      if (pid === null || rng.chance(0.3)) {
        const p = model.newPayment(rng, eid);
        b.insert('payments', p);
        pid = p.id as number;
      }
      for (let i = rng.int(1, 3); i > 0; i--) b.insert('orders', model.newOrder(rng, eid, rng.chance(0.7) ? pid : null));
      break;
    }
    case 'updates': {
      const eid = model.employees.pick(rng) as number;
      b.update('UPDATE employees SET salary = $1, department = $2, active = $3 WHERE id = $4', [rng.money(40_000, 200_000), rng.pick(DEPARTMENTS), rng.chance(0.85), eid]);
      const pid = model.payments.pick(rng);
      if (pid !== undefined) b.update('UPDATE payments SET status = $1 WHERE id = $2', [rng.pick(PAYMENT_STATUSES), pid]);
      const oid = model.orders.pick(rng);
      if (oid !== undefined) b.update('UPDATE orders SET quantity = $1, total = $2, note = $3 WHERE id = $4', [rng.int(1, 20), rng.money(5, 9000), rng.chance(0.5) ? `updated ${rng.int(1, 999)}` : null, oid]);
      break;
    }
    case 'cancel-order': {
      for (let i = rng.int(1, 2); i > 0; i--) {
        const oid = model.orders.pick(rng);
        if (oid === undefined) break;
        model.deleteOrder(oid);
        b.delete('DELETE FROM orders WHERE id = $1', [oid]);
      }
      if (b.statements.length === 0) return nextTransaction(rng, model);
      break;
    }
    case 'refund': {
      // Orders lose their reference to the payment first, then the payment goes.
      const pid = model.payments.pick(rng);
      if (pid === undefined) return nextTransaction(rng, model);
      const linked = model.ordersReferencing(pid).length;
      if (linked > 0) b.update('UPDATE orders SET payment_id = NULL WHERE payment_id = $1', [pid], linked);
      model.unlinkPayment(pid);
      model.deletePayment(pid);
      b.delete('DELETE FROM payments WHERE id = $1', [pid]);
      break;
    }
    case 'correction': {
      // Delete an order and insert it again under the same key with new values, in one transaction.
      const oid = model.orders.pick(rng);
      const info = oid === undefined ? undefined : model.orderInfo(oid);
      if (oid === undefined || !info) return nextTransaction(rng, model);
      model.deleteOrder(oid);
      b.delete('DELETE FROM orders WHERE id = $1', [oid]);
      b.insert('orders', model.reinsertOrder(rng, oid, info.employee, model.paymentOf(rng, info.employee)));
      break;
    }
    case 'leaver': {
      // Children first: the employee's orders, then payments, then the employee.
      const eid = model.employees.pick(rng) as number;
      const { orders, payments } = model.dependentsOf(eid);
      model.deleteEmployee(eid);
      if (orders.length > 0) b.delete('DELETE FROM orders WHERE employee_id = $1', [eid], orders.length);
      if (payments.length > 0) b.delete('DELETE FROM payments WHERE employee_id = $1', [eid], payments.length);
      b.delete('DELETE FROM employees WHERE id = $1', [eid]);
      break;
    }
  }
  return { kind, statements: b.statements, inserts: b.inserts, updates: b.updates, deletes: b.deletes };
}
