/**
 * Turns changefeed row images (JSON object texts) and delete keys into value grids aligned with target
 * columns, the same way for every dialect: case-insensitive column matching, generated columns dropped,
 * unknown columns and missing primary-key values reported as TargetSchemaError, several images of one
 * key folded into one row, and rows grouped by the set of columns they carry so that a column absent
 * from a payload is never overwritten with NULL. No SQL and no driver here.
 */
import { forEachMemberExact, JsonNumber, stringifyExact, type JsonValue } from '../../../lib/exact-json.js';
import { TargetSchemaError, type ColumnInfo, type TableInfo } from '../../types.js';

/** Rows that carry the same columns: one statement shape. */
export interface RowGroup {
  /** Columns written, in `table.columns` order (primary key first). */
  readonly columns: readonly ColumnInfo[];
  /** One value per column per row; null is SQL NULL. */
  readonly rows: readonly (readonly JsonValue[])[];
  /** The non-key columns among `columns` that an upsert updates (GENERATED ALWAYS identities excluded). */
  readonly updateColumns: readonly ColumnInfo[];
}

/** Resolves payload property names to target columns, exact spelling first, then case-insensitively. */
export class ColumnMatcher {
  private readonly exact = new Map<string, ColumnInfo>();
  private readonly folded = new Map<string, ColumnInfo | null>();

  constructor(readonly table: TableInfo) {
    for (const c of table.columns) {
      this.exact.set(c.name, c);
      const k = c.name.toLowerCase();
      // null marks two catalog columns that differ only by case: only an exact match can pick one.
      this.folded.set(k, this.folded.has(k) ? null : c);
    }
  }

  find(name: string): ColumnInfo | undefined {
    const hit = this.exact.get(name);
    if (hit) return hit;
    const f = this.folded.get(name.toLowerCase());
    if (f === null) {
      throw new TargetSchemaError(
        `table ${this.table.name} has several columns named "${name}" in different cases; rename one so the payload column maps to exactly one`,
        this.table.name,
        name,
      );
    }
    return f;
  }
}

export function requirePrimaryKey(table: TableInfo): readonly ColumnInfo[] {
  if (table.primaryKey.length === 0) {
    throw new TargetSchemaError(
      `table ${table.name} has no primary key; failback writes by primary key, so add one matching the source's`,
      table.name,
    );
  }
  return table.primaryKey.map((name) => {
    const c = table.columns.find((x) => x.name === name);
    if (!c) throw new TargetSchemaError(`primary-key column ${name} of ${table.name} is not among its columns`, table.name, name);
    return c;
  });
}

/**
 * Shapes upsert payloads. Later images of the same key are merged field by field onto earlier ones
 * (a sparse image updates only the fields it carries), so every key appears once: PostgreSQL's
 * ON CONFLICT and Oracle's MERGE both reject a second change of one row in one statement.
 *
 * Each image is parsed member by member straight into a slot per target column (no intermediate
 * object, map or per-row sort): this runs for every applied row and was the engine's largest cost
 * after the database drivers.
 */
export function shapeUpserts(table: TableInfo, payloads: readonly string[]): RowGroup[] {
  const pk = requirePrimaryKey(table);
  const matcher = new ColumnMatcher(table);
  const width = table.columns.length;
  const position = new Map(table.columns.map((c, i) => [c, i]));
  const pkPositions = pk.map((c) => position.get(c)!);
  // Payload property name -> column position (-1: a generated column, skipped); names repeat on every
  // row, so each is matched once.
  const slotOf = new Map<string, number>();
  const byKey = new Map<string, (JsonValue | undefined)[]>();

  // One callback for all rows (a closure per row would be garbage per row), filling `values`.
  let values: (JsonValue | undefined)[] = [];
  const member = (name: string, value: JsonValue) => {
    let slot = slotOf.get(name);
    if (slot === undefined) {
      const col = matcher.find(name);
      if (!col) {
        throw new TargetSchemaError(
          `table ${table.name} has no column "${name}", which the changefeed sends; add it to the target table (or drop it from the source) and retry`,
          table.name,
          name,
        );
      }
      slot = col.generated ? -1 : position.get(col)!;
      slotOf.set(name, slot);
    }
    if (slot >= 0) values[slot] = value;
  };

  for (const text of payloads) {
    values = new Array<JsonValue | undefined>(width);
    let object: boolean;
    try {
      object = forEachMemberExact(text, member);
    } catch (err) {
      if (err instanceof TargetSchemaError) throw err;
      throw new TargetSchemaError(`row image for ${table.name} is not valid JSON: ${(err as Error).message}`, table.name);
    }
    if (!object) throw new TargetSchemaError(`row image for ${table.name} is not a JSON object`, table.name);
    for (const i of pkPositions) {
      const v = values[i];
      if (v === undefined || v === null) {
        const c = table.columns[i]!;
        throw new TargetSchemaError(`upsert into ${table.name}: the row image has no value for primary-key column "${c.name}"`, table.name, c.name);
      }
    }
    const key = pkPositions.length === 1 ? stringifyExact(values[pkPositions[0]!]!) : pkPositions.map((i) => stringifyExact(values[i]!)).join('\u0000');
    const prior = byKey.get(key);
    if (prior) {
      for (let i = 0; i < width; i++) if (values[i] !== undefined) prior[i] = values[i];
    } else byKey.set(key, values);
  }

  // Group rows by the set of columns they carry (one statement shape per set). The set is a bit mask
  // while the table has at most 30 columns (no string per row), a list of positions beyond that.
  type Group = { columns: ColumnInfo[]; slots: number[]; rows: JsonValue[][] };
  const groups = new Map<number | string, Group>();
  let lastSignature: number | string = -1;
  let last: Group | undefined;
  for (const row of byKey.values()) {
    let signature: number | string = 0;
    if (width <= 30) {
      for (let i = 0; i < width; i++) if (row[i] !== undefined) signature |= 1 << i;
    } else {
      signature = '';
      for (let i = 0; i < width; i++) if (row[i] !== undefined) signature += `${i},`;
    }
    let g = signature === lastSignature ? last : groups.get(signature);
    if (!g) {
      const slots: number[] = [];
      for (let i = 0; i < width; i++) if (row[i] !== undefined) slots.push(i);
      groups.set(signature, (g = { columns: slots.map((i) => table.columns[i]!), slots, rows: [] }));
    }
    lastSignature = signature;
    last = g;
    // Every column present and in table order: the slot array is the row as it is.
    g.rows.push(g.slots.length === width ? (row as JsonValue[]) : g.slots.map((i) => row[i] as JsonValue));
  }
  const pkSet = new Set(pk);
  return [...groups.values()].map((g) => ({
    columns: g.columns,
    rows: g.rows,
    updateColumns: g.columns.filter((c) => !pkSet.has(c) && c.identity !== 'always'),
  }));
}

/** Validates delete keys (target key order) and drops duplicates. */
export function shapeDeletes(table: TableInfo, keys: readonly (readonly JsonValue[])[]): { columns: readonly ColumnInfo[]; rows: JsonValue[][] } {
  const pk = requirePrimaryKey(table);
  const seen = new Set<string>();
  const rows: JsonValue[][] = [];
  for (const key of keys) {
    if (key.length !== pk.length) {
      throw new TargetSchemaError(
        `delete from ${table.name}: the key has ${key.length} values but the primary key has ${pk.length} columns (${table.primaryKey.join(', ')})`,
        table.name,
      );
    }
    key.forEach((v, i) => {
      if (v === null) {
        throw new TargetSchemaError(`delete from ${table.name}: key value for "${pk[i]!.name}" is null`, table.name, pk[i]!.name);
      }
    });
    const id = key.map(stringifyExact).join('\u0000');
    if (seen.has(id)) continue;
    seen.add(id);
    rows.push([...key]);
  }
  return { columns: pk, rows };
}

/** Splits `items` into runs of at most `size` (size >= 1). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const n = Math.max(1, Math.floor(size));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}

/** The `{"__crdb_json_null__": true}` marker CockroachDB sends for a JSON null with encode_json_value_null_as_object. */
export function isCrdbJsonNull(v: JsonValue): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === '__crdb_json_null__' && v.__crdb_json_null__ === true;
}
