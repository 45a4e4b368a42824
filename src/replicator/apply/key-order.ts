/**
 * Maps a delete's source key (a JSON array in CockroachDB's primary-key order) onto the target's
 * primary-key order. MOLT Replicator maps it by position, which deletes the wrong row (or none) when
 * the target declares its key columns in another order. In order of preference:
 *  1. the `before` image, by column name, when the changefeed sent one (diff option);
 *  2. the source key columns configured for the table;
 *  3. an order learned from upserts of the same table (key values matched against the `after` image,
 *     refined with each upsert until only one order fits), also one learned earlier, by this process or
 *     another sharing the staging schema, and remembered in staging (see KeyOrderMemory);
 *  4. position, with a warning logged once per table.
 * No SQL and no I/O of its own; safe to share between concurrent applies (all work is synchronous).
 */
import { JsonNumber, parseExactJson, stringifyExact, type JsonValue } from '../../lib/exact-json.js';
import type { Logger } from '../../lib/log.js';
import { TargetSchemaError, type DeleteRow, type RememberedKeyOrder, type TableInfo, type TargetSchema, type UpsertRow } from '../types.js';

interface Learning {
  /** For each source key position, the target key positions still possible. */
  candidates?: Set<number>[];
  /** source position -> target position, once unambiguous. */
  order?: number[];
  /** The upserts contradicted every order: stop learning. */
  failed?: boolean;
}

const isObject = (v: JsonValue): v is { [k: string]: JsonValue } =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof JsonNumber);

function parseKey(table: TableInfo, text: string): JsonValue[] {
  let v: JsonValue;
  try {
    v = parseExactJson(text);
  } catch (err) {
    throw new TargetSchemaError(`key of a ${table.name} mutation is not valid JSON: ${(err as Error).message}`, table.name);
  }
  if (!Array.isArray(v)) throw new TargetSchemaError(`key of a ${table.name} mutation is not a JSON array`, table.name);
  return v;
}

/** The image's values by lower-cased name: a lower-case spelling wins, else the first spelling seen. */
function foldImage(image: { [k: string]: JsonValue }): Map<string, JsonValue> {
  const folded = new Map<string, JsonValue>();
  for (const [k, v] of Object.entries(image)) {
    if (!folded.has(k.toLowerCase()) || k === k.toLowerCase()) folded.set(k.toLowerCase(), v);
  }
  return folded;
}

/** Values of the target's key columns found in a row image (case-insensitive names); undefined if any is missing. */
function keyFromImage(table: TableInfo, image: { [k: string]: JsonValue }): JsonValue[] | undefined {
  // Exact spelling first; the folded map only when a name misses (images usually match the catalog).
  let folded: Map<string, JsonValue> | undefined;
  const out: JsonValue[] = [];
  for (const name of table.primaryKey) {
    const v = Object.prototype.hasOwnProperty.call(image, name) ? image[name] : (folded ??= foldImage(image)).get(name.toLowerCase());
    if (v === undefined || v === null) return undefined;
    out.push(v);
  }
  return out;
}

/**
 * Where learned orders outlive the process: a restarted engine (or another instance taking over the
 * apply lease) may see a table's deletes before any of its upserts.
 */
export interface KeyOrderMemory {
  load(): Promise<readonly RememberedKeyOrder[]>;
  save(order: RememberedKeyOrder): Promise<void>;
}

export class KeyOrders {
  private readonly learning = new Map<string, Learning>();
  private readonly warned = new Set<string>();
  /** Per configured table (lower-cased name): lower-cased source key column -> key position. */
  private readonly positions = new Map<string, ReadonlyMap<string, number>>();
  /** Orders learned here or remembered in staging, by id(): source key column names. */
  private readonly remembered = new Map<string, readonly string[]>();

  constructor(
    private readonly log: Logger,
    /** Source key column names per lower-cased table name. */
    private readonly configured?: ReadonlyMap<string, readonly string[]>,
    /** Told about each order as it is learned, so it can be remembered. */
    private readonly onLearned?: (order: RememberedKeyOrder) => void,
  ) {}

  private id(schema: TargetSchema | string, table: TableInfo | string): string {
    return `${typeof schema === 'string' ? schema : schema.key}\u0000${(typeof table === 'string' ? table : table.name).toLowerCase()}`;
  }

  /** Takes in orders remembered elsewhere (what this process learned itself is kept). */
  absorb(orders: readonly RememberedKeyOrder[]): void {
    for (const o of orders) {
      const id = this.id(o.schema, o.table);
      if (!this.remembered.has(id)) this.remembered.set(id, o.columns);
    }
  }

  /** Would a delete of this table fall back to position? (a composite key with no known source order) */
  unknown(schema: TargetSchema, table: TableInfo): boolean {
    if (table.primaryKey.length < 2 || this.configured?.has(table.name.toLowerCase())) return false;
    const id = this.id(schema, table);
    return !this.remembered.has(id) && !this.learning.get(id)?.order;
  }

  /** The learned source -> target order, when known (exposed for tests and diagnostics). */
  learnedOrder(schema: TargetSchema, table: TableInfo): readonly number[] | undefined {
    return this.learning.get(this.id(schema, table))?.order;
  }

  /** Refines the learned order with upserts (their key against their after image). */
  learn(schema: TargetSchema, table: TableInfo, rows: readonly UpsertRow[]): void {
    const n = table.primaryKey.length;
    if (n < 2) return;
    const id = this.id(schema, table);
    let state = this.learning.get(id);
    if (!state) this.learning.set(id, (state = {}));
    if (state.order || state.failed) return;
    for (const row of rows) {
      let key: JsonValue[];
      let after: JsonValue;
      try {
        key = parseKey(table, row.key);
        after = parseExactJson(row.after);
      } catch {
        continue; // the upsert itself will report a malformed image
      }
      if (key.length !== n || !isObject(after)) continue;
      const target = keyFromImage(table, after);
      if (!target) continue;
      const targetText = target.map(stringifyExact);
      const candidates = state.candidates ?? key.map(() => new Set(targetText.map((_, j) => j)));
      key.forEach((v, i) => {
        const text = stringifyExact(v);
        for (const j of [...candidates[i]!]) if (targetText[j] !== text) candidates[i]!.delete(j);
      });
      state.candidates = candidates;
      if (candidates.some((c) => c.size === 0)) {
        state.failed = true;
        this.log.warn({ table: table.name }, 'changefeed key values do not match the row image; delete keys fall back to other mappings');
        return;
      }
      if (candidates.every((c) => c.size === 1)) {
        const order = candidates.map((c) => [...c][0]!);
        if (new Set(order).size === n) {
          state.order = order;
          const columns = order.map((j) => table.primaryKey[j]!);
          this.remembered.set(id, columns);
          this.onLearned?.({ schema: schema.key, table: table.name.toLowerCase(), columns });
          return;
        }
      }
    }
  }

  /** The delete's key values in the target's primary-key order. */
  targetKey(schema: TargetSchema, table: TableInfo, row: DeleteRow): JsonValue[] {
    const pk = table.primaryKey;
    if (row.before) {
      let before: JsonValue | undefined;
      try {
        before = parseExactJson(row.before);
      } catch {
        before = undefined;
      }
      const fromBefore = before !== undefined && isObject(before) ? keyFromImage(table, before) : undefined;
      if (fromBefore) return fromBefore;
    }
    const key = parseKey(table, row.key);
    if (key.length !== pk.length) {
      throw new TargetSchemaError(
        `delete from ${table.name}: the changefeed key has ${key.length} values but the target primary key has ${pk.length} columns (${pk.join(', ')})`,
        table.name,
      );
    }
    const lowerName = table.name.toLowerCase();
    const names = this.configured?.get(lowerName);
    if (names) return this.byNames(table, lowerName, key, names, 'configured');
    const id = this.id(schema, table);
    const order = this.learning.get(id)?.order;
    if (order) {
      const out = new Array<JsonValue>(pk.length);
      order.forEach((target, source) => (out[target] = key[source]!));
      return out;
    }
    const remembered = this.remembered.get(id);
    if (remembered) return this.byNames(table, id, key, remembered, 'remembered');
    if (pk.length > 1 && !this.warned.has(id)) {
      this.warned.add(id);
      this.log.warn(
        { table: table.name, primaryKey: pk },
        'deleting by key position: the source key order of this table is not known yet (no before image, no configured order, no upsert seen); it is only right if source and target declare the key columns in the same order',
      );
    }
    return key;
  }

  /** Maps the key by source column names; `cacheKey` names the (never changing) list for the position cache. */
  private byNames(table: TableInfo, cacheKey: string, key: readonly JsonValue[], names: readonly string[], how: 'configured' | 'remembered'): JsonValue[] {
    if (names.length !== key.length) {
      throw new TargetSchemaError(
        `delete from ${table.name}: ${names.length} source key columns are ${how} but the key has ${key.length} values`,
        table.name,
      );
    }
    // A table's configured or remembered list never changes, so its positions are built once.
    let position = this.positions.get(cacheKey);
    if (!position) this.positions.set(cacheKey, (position = new Map(names.map((n, i) => [n.toLowerCase(), i]))));
    return table.primaryKey.map((col) => {
      const i = position.get(col.toLowerCase());
      if (i === undefined) {
        throw new TargetSchemaError(
          `delete from ${table.name}: target key column "${col}" is not among the ${how} source key columns (${names.join(', ')})`,
          table.name,
          col,
        );
      }
      return key[i]!;
    });
  }
}
