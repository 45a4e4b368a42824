/**
 * What rows exist in the example schema, and how they relate, as the seed data and the workload write
 * them. The workload draws every statement from this model so that each transaction respects the
 * foreign keys (a payment's employee exists; deleting an employee first deletes its orders and
 * payments). Collections keep a deterministic order, so a seed replays the same choices.
 */
import type { Random } from './random.js';
import { employeeRow, orderRow, paymentRow, type Row } from './schema.js';

/** A set with O(1) add, remove and random pick, in an order fixed by the sequence of operations. */
class Pool {
  private readonly items: number[] = [];
  private readonly index = new Map<number, number>();

  add(id: number): void {
    if (this.index.has(id)) return;
    this.index.set(id, this.items.length);
    this.items.push(id);
  }

  remove(id: number): void {
    const i = this.index.get(id);
    if (i === undefined) return;
    const last = this.items.pop() as number;
    this.index.delete(id);
    if (last !== id) {
      this.items[i] = last;
      this.index.set(last, i);
    }
  }

  has(id: number): boolean {
    return this.index.has(id);
  }

  pick(rng: Random): number | undefined {
    return this.items.length === 0 ? undefined : rng.pick(this.items);
  }

  get size(): number {
    return this.items.length;
  }

  values(): readonly number[] {
    return this.items;
  }
}

interface OrderLinks {
  employee: number;
  payment: number | null;
}

export class Model {
  readonly employees = new Pool();
  readonly payments = new Pool();
  readonly orders = new Pool();
  private readonly paymentEmployee = new Map<number, number>();
  private readonly orderLinks = new Map<number, OrderLinks>();
  private readonly paymentsOf = new Map<number, Pool>();
  private readonly ordersOf = new Map<number, Pool>();
  private readonly ordersOfPayment = new Map<number, Pool>();
  private next = { employees: 1, payments: 1, orders: 1 };

  private static member(map: Map<number, Pool>, key: number): Pool {
    let p = map.get(key);
    if (!p) map.set(key, (p = new Pool()));
    return p;
  }

  newEmployee(rng: Random): Row {
    const id = this.next.employees++;
    this.employees.add(id);
    return employeeRow(rng, id);
  }

  newPayment(rng: Random, employee: number): Row {
    const id = this.next.payments++;
    this.payments.add(id);
    this.paymentEmployee.set(id, employee);
    Model.member(this.paymentsOf, employee).add(id);
    return paymentRow(rng, id, employee);
  }

  newOrder(rng: Random, employee: number, payment: number | null): Row {
    const id = this.next.orders++;
    this.addOrder(id, employee, payment);
    return orderRow(rng, id, employee, payment);
  }

  /** Re-creates an order under an id that was just deleted (a delete and re-insert in one transaction). */
  reinsertOrder(rng: Random, id: number, employee: number, payment: number | null): Row {
    this.addOrder(id, employee, payment);
    return orderRow(rng, id, employee, payment);
  }

  private addOrder(id: number, employee: number, payment: number | null): void {
    this.orders.add(id);
    this.orderLinks.set(id, { employee, payment });
    Model.member(this.ordersOf, employee).add(id);
    if (payment !== null) Model.member(this.ordersOfPayment, payment).add(id);
  }

  /** A payment of this employee, to link a new order to (orders and payments stay with one employee). */
  paymentOf(rng: Random, employee: number): number | null {
    return this.paymentsOf.get(employee)?.pick(rng) ?? null;
  }

  orderInfo(id: number): OrderLinks | undefined {
    return this.orderLinks.get(id);
  }

  /** Orders that reference a payment (they must lose the reference before the payment goes). */
  ordersReferencing(payment: number): readonly number[] {
    return [...(this.ordersOfPayment.get(payment)?.values() ?? [])];
  }

  unlinkPayment(payment: number): void {
    for (const o of this.ordersReferencing(payment)) {
      const links = this.orderLinks.get(o);
      if (links) links.payment = null;
    }
    this.ordersOfPayment.delete(payment);
  }

  deleteOrder(id: number): void {
    const links = this.orderLinks.get(id);
    if (!links) return;
    this.orders.remove(id);
    this.orderLinks.delete(id);
    this.ordersOf.get(links.employee)?.remove(id);
    if (links.payment !== null) this.ordersOfPayment.get(links.payment)?.remove(id);
  }

  /** Deletes a payment; its orders must have been unlinked or deleted first. */
  deletePayment(id: number): void {
    const employee = this.paymentEmployee.get(id);
    this.payments.remove(id);
    this.paymentEmployee.delete(id);
    if (employee !== undefined) this.paymentsOf.get(employee)?.remove(id);
    this.ordersOfPayment.delete(id);
  }

  /** Everything that goes with an employee, children first: their orders, then their payments. */
  dependentsOf(employee: number): { orders: number[]; payments: number[] } {
    return { orders: [...(this.ordersOf.get(employee)?.values() ?? [])], payments: [...(this.paymentsOf.get(employee)?.values() ?? [])] };
  }

  deleteEmployee(id: number): void {
    const { orders, payments } = this.dependentsOf(id);
    for (const o of orders) this.deleteOrder(o);
    for (const p of payments) this.deletePayment(p);
    this.employees.remove(id);
    this.ordersOf.delete(id);
    this.paymentsOf.delete(id);
  }

  get counts(): { employees: number; payments: number; orders: number } {
    return { employees: this.employees.size, payments: this.payments.size, orders: this.orders.size };
  }
}

/** The seed data: `employees` employees, twice as many payments and three times as many orders. */
export function seedRows(rng: Random, model: Model, employees: number): { employees: Row[]; payments: Row[]; orders: Row[] } {
  const out = { employees: [] as Row[], payments: [] as Row[], orders: [] as Row[] };
  for (let i = 0; i < employees; i++) out.employees.push(model.newEmployee(rng));
  for (let i = 0; i < employees * 2; i++) out.payments.push(model.newPayment(rng, model.employees.pick(rng) as number));
  for (let i = 0; i < employees * 3; i++) {
    const e = model.employees.pick(rng) as number;
    out.orders.push(model.newOrder(rng, e, rng.chance(0.6) ? model.paymentOf(rng, e) : null));
  }
  return out;
}
