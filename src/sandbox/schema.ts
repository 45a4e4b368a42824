/**
 * The runbook's example schema (employees, payments, orders, linked by foreign keys) in the three
 * spellings the sandbox needs: CockroachDB (sent through the emulator), PostgreSQL and MySQL/MariaDB
 * targets. Also the row generators shared by the seed data and the workload, so both sides and every
 * transaction draw from one definition. Values are kept as exact text (DECIMAL, microsecond UTC
 * timestamps) so every database stores the same thing.
 */
import type { Random } from './random.js';

export type Flavour = 'crdb' | 'postgres' | 'mysql';

/** In foreign-key order: parents first. */
export const EXAMPLE_TABLES = ['employees', 'payments', 'orders'] as const;
export type ExampleTable = (typeof EXAMPLE_TABLES)[number];

type Kind = 'id' | 'text' | 'money' | 'bool' | 'time' | 'int';

interface Column {
  readonly name: string;
  readonly kind: Kind;
  readonly nullable?: boolean;
  readonly references?: ExampleTable;
}

const TYPES: Record<Kind, Record<Flavour, string>> = {
  id: { crdb: 'INT8', postgres: 'BIGINT', mysql: 'BIGINT' },
  text: { crdb: 'STRING', postgres: 'TEXT', mysql: 'VARCHAR(200)' },
  money: { crdb: 'DECIMAL(12,2)', postgres: 'NUMERIC(12,2)', mysql: 'DECIMAL(12,2)' },
  bool: { crdb: 'BOOL', postgres: 'BOOLEAN', mysql: 'BOOLEAN' },
  // A zone-less DATETIME on MySQL: the failback writes UTC, and verify compares it as UTC wall time.
  time: { crdb: 'TIMESTAMPTZ', postgres: 'TIMESTAMPTZ', mysql: 'DATETIME(6)' },
  int: { crdb: 'INT4', postgres: 'INTEGER', mysql: 'INT' },
};

export const COLUMNS: Readonly<Record<ExampleTable, readonly Column[]>> = {
  employees: [
    { name: 'id', kind: 'id' },
    { name: 'name', kind: 'text' },
    { name: 'email', kind: 'text' },
    { name: 'department', kind: 'text' },
    { name: 'salary', kind: 'money' },
    { name: 'active', kind: 'bool' },
    { name: 'hired_at', kind: 'time' },
  ],
  payments: [
    { name: 'id', kind: 'id' },
    { name: 'employee_id', kind: 'id', references: 'employees' },
    { name: 'amount', kind: 'money' },
    { name: 'currency', kind: 'text' },
    { name: 'status', kind: 'text' },
    { name: 'paid_at', kind: 'time' },
  ],
  orders: [
    { name: 'id', kind: 'id' },
    { name: 'employee_id', kind: 'id', references: 'employees' },
    { name: 'payment_id', kind: 'id', nullable: true, references: 'payments' },
    { name: 'item', kind: 'text' },
    { name: 'quantity', kind: 'int' },
    { name: 'total', kind: 'money' },
    { name: 'note', kind: 'text', nullable: true },
    { name: 'created_at', kind: 'time' },
  ],
};

const quoteIdent = (flavour: Flavour, name: string): string => (flavour === 'mysql' ? `\`${name}\`` : `"${name}"`);

/** CREATE TABLE statements, parents first. */
export function createTableStatements(flavour: Flavour): string[] {
  return EXAMPLE_TABLES.map((table) => {
    const q = (n: string) => quoteIdent(flavour, n);
    const cols = COLUMNS[table].map((c) => `${q(c.name)} ${TYPES[c.kind][flavour]}${c.name === 'id' ? ' PRIMARY KEY' : c.nullable ? ' NULL' : ' NOT NULL'}`);
    const fks = COLUMNS[table]
      .filter((c) => c.references)
      .map((c) => `CONSTRAINT ${q(`${table}_${c.name}_fkey`)} FOREIGN KEY (${q(c.name)}) REFERENCES ${q(c.references as string)} (${q('id')})`);
    return `CREATE TABLE ${q(table)} (${[...cols, ...fks].join(', ')})${flavour === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : ''}`;
  });
}

// ---------------------------------------------------------------------------------------------------
// Rows

export type Value = string | number | boolean | null;
/** Column name -> value; times are UTC "YYYY-MM-DD HH:MM:SS.ffffff". */
export type Row = Readonly<Record<string, Value>>;

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Leslie', 'Margaret', 'John', 'Sophie', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Lamport', 'Hamilton', 'Backus', 'Wilson', 'Berners-Lee'];
export const DEPARTMENTS = ['engineering', 'finance', 'sales', 'support', 'operations', 'research'] as const;
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];
export const PAYMENT_STATUSES = ['pending', 'settled', 'refunded'] as const;
const ITEMS = ['laptop', 'monitor', 'keyboard', 'desk', 'chair', 'headset', 'license', 'training', 'travel', 'books'];
const NOTES = [null, null, 'rush', "it's a gift", 'deliver to the front desk', 'ünïcödé ✓', 'split shipment'];

const EPOCH = Date.UTC(2024, 0, 1);

/** A UTC timestamp with microseconds, as text, within `days` after 2024-01-01. */
export function timestamp(rng: Random, days = 700): string {
  const ms = EPOCH + rng.int(0, days * 86_400) * 1000;
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:00.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(rng.int(0, 999_999)).padStart(6, '0')}`;
}

export function employeeRow(rng: Random, id: number): Row {
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  return {
    id,
    name: `${first} ${last}`,
    email: `${first}.${last}.${id}@example.com`.toLowerCase(),
    department: rng.pick(DEPARTMENTS),
    salary: rng.money(40_000, 180_000),
    active: rng.chance(0.9),
    hired_at: timestamp(rng),
  };
}

export function paymentRow(rng: Random, id: number, employeeId: number): Row {
  return { id, employee_id: employeeId, amount: rng.money(5, 5000), currency: rng.pick(CURRENCIES), status: rng.pick(PAYMENT_STATUSES), paid_at: timestamp(rng) };
}

export function orderRow(rng: Random, id: number, employeeId: number, paymentId: number | null): Row {
  const quantity = rng.int(1, 12);
  return {
    id,
    employee_id: employeeId,
    payment_id: paymentId,
    item: rng.pick(ITEMS),
    quantity,
    total: rng.money(quantity * 3, quantity * 900),
    note: rng.pick(NOTES),
    created_at: timestamp(rng),
  };
}

/** The columns of a table, in declaration order. */
export const columnNames = (table: ExampleTable): string[] => COLUMNS[table].map((c) => c.name);

const isTime = (table: ExampleTable, column: string): boolean => COLUMNS[table].some((c) => c.name === column && c.kind === 'time');

/** A value as the given database reads it in a literal or a text parameter (UTC made explicit where zones exist). */
export function valueFor(flavour: Flavour, table: ExampleTable, column: string, v: Value): Value {
  if (typeof v === 'string' && isTime(table, column) && flavour !== 'mysql') return `${v}+00`;
  return v;
}

function literal(flavour: Flavour, v: Value): string {
  if (v === null) return 'NULL';
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'number') return String(v);
  // Standard '' escaping; generated text never holds a backslash (which MySQL would treat as an escape).
  return `'${v.replace(/'/g, "''")}'`;
}

/** Multi-row INSERT statements with literal values, `batch` rows each. */
export function insertStatements(flavour: Flavour, table: ExampleTable, rows: readonly Row[], batch = 250): string[] {
  const cols = columnNames(table);
  const out: string[] = [];
  for (let i = 0; i < rows.length; i += batch) {
    const values = rows
      .slice(i, i + batch)
      .map((r) => `(${cols.map((c) => literal(flavour, valueFor(flavour, table, c, r[c] ?? null))).join(', ')})`)
      .join(', ');
    out.push(`INSERT INTO ${quoteIdent(flavour, table)} (${cols.map((c) => quoteIdent(flavour, c)).join(', ')}) VALUES ${values}`);
  }
  return out;
}
