/**
 * Row order within a table whose foreign key references the table itself (employees.manager_id ->
 * employees.id). Table order (resolve/) cannot help there, and rows arrive ordered by their key's JSON
 * text ("[20]" before "[3]"). InnoDB checks foreign keys row by row even inside one multi-row statement;
 * PostgreSQL at the end of each statement, so a parent in a later --flushSize chunk fails as well. A
 * deferral then retries the same order forever, so the order has to be right:
 *
 *  - upserts: each row after the rows of the batch it references (a stable topological order: other
 *    rows keep their places), re-chunked to the plan's chunk sizes;
 *  - deletes: children before parents. A delete usually carries only its key, so the referencing values
 *    are read from the target when the delete runs (a before image may also be older than the target's
 *    row), and the keys deleted in layers, one write per layer: InnoDB's DELETE ... IN removes rows in
 *    index order, whatever order the keys are listed in.
 *
 * Rows that reference each other in a cycle within one batch keep a deterministic order; the deferral
 * and retry path handles what remains. Ops of tables without a self-reference pass through untouched:
 * the only cost for them is one property check per op. No SQL; the target is read through TargetTx.
 */
import { JsonNumber, parseExactJson, stringifyExact, type JsonValue } from '../../lib/exact-json.js';
import type { PreparedWrite, SelfReference, TableInfo, TargetSchema, TargetTx } from '../types.js';
import { dependencyOrder, dependents, layersByDepth, parentsByValue, type ValueLink } from './dependency-order.js';

/** An op made ready for the transaction: its table and, for deletes, keys in target order. */
export type WriteOp =
  | { readonly kind: 'upsert'; readonly table: TableInfo; readonly rows: string[] }
  | {
      readonly kind: 'delete';
      readonly table: TableInfo;
      readonly keys: JsonValue[][];
      /** The deletes of a self-referencing table: ordered child-first when they run (childFirstDelete). */
      readonly childFirst?: true;
    };

const SEP = '\u0000';

/**
 * The ops with every run of consecutive upserts (or deletes) of a self-referencing table ordered as
 * described above; `ops` itself when no table references itself. Pure (the delete order is settled
 * when the write runs).
 */
export function orderSelfReferences(ops: readonly WriteOp[]): readonly WriteOp[] {
  if (!ops.some((op) => op.table.selfReferences)) return ops;
  const out: WriteOp[] = [];
  for (let i = 0; i < ops.length; ) {
    const op = ops[i]!;
    let end = i + 1;
    while (end < ops.length && ops[end]!.kind === op.kind && ops[end]!.table.name === op.table.name) end++;
    const run = ops.slice(i, end);
    i = end;
    if (!op.table.selfReferences) out.push(...run);
    else if (op.kind === 'delete') out.push(mergeDeletes(op.table, run as Extract<WriteOp, { kind: 'delete' }>[]));
    else out.push(...orderUpsertRun(op.table, run as Extract<WriteOp, { kind: 'upsert' }>[]));
  }
  return out;
}

/**
 * The upsert images of one self-referencing table, each after the images of rows it references.
 * Exposed for tests; orderSelfReferences applies it to each run of upserts.
 */
export function orderUpserts(table: TableInfo, images: readonly string[]): string[] {
  return orderParsed(table, images.map((text) => parseImage(table, text)));
}

/** A write that deletes `keys` child-first, reading the referencing values in the transaction first. */
export function childFirstDelete(tx: TargetTx, schema: TargetSchema, table: TableInfo, keys: readonly JsonValue[][]): PreparedWrite {
  return async (options) => {
    let rows = 0;
    let statements = 0;
    for (const layer of await deleteLayers(tx, schema, table, keys)) {
      options?.signal?.throwIfAborted();
      const r = await tx.delete(schema, table, layer, options);
      rows += r.rows;
      statements += r.statements;
    }
    return { rows, statements };
  };
}

/** `keys` in layers, children before parents, as the target's rows reference each other now. */
export async function deleteLayers(tx: TargetTx, schema: TargetSchema, table: TableInfo, keys: readonly JsonValue[][]): Promise<JsonValue[][][]> {
  const refs = table.selfReferences ?? [];
  // Without a way to read the target (a dialect without readByKeys) the keys keep their order.
  if (keys.length < 2 || refs.length === 0 || !tx.readByKeys) return [[...keys]];
  const names = [...new Set(refs.flatMap((r) => [...r.columns, ...r.referenced]))];
  const position = new Map(names.map((n, i) => [n, i]));
  const found = await tx.readByKeys(schema, table, keys, names);
  // A row already gone (or whose key reads back differently) refers to nothing: it keeps its place.
  const tuple = (row: readonly (string | null)[] | undefined, columns: readonly string[]): string | undefined => {
    if (!row) return undefined;
    const values = columns.map((c) => row[position.get(c)!]);
    return values.some((v) => v === null || v === undefined) ? undefined : values.join(SEP);
  };
  const links: ValueLink[] = refs.map((r) => ({ child: found.map((row) => tuple(row, r.columns)), parent: found.map((row) => tuple(row, r.referenced)) }));
  // Depth over "who references me": 0 for rows nothing in the batch references, which go first.
  const { depth } = dependencyOrder(dependents(parentsByValue(keys.length, links)));
  return layersByDepth(depth).map((layer) => layer.map((i) => keys[i]!));
}

/** One delete op for a run of delete ops, each key once (a re-sent delete would be deleted too early). */
function mergeDeletes(table: TableInfo, run: readonly Extract<WriteOp, { kind: 'delete' }>[]): WriteOp {
  const seen = new Set<string>();
  const keys: JsonValue[][] = [];
  for (const op of run) {
    for (const k of op.keys) {
      const id = k.map(stringifyExact).join(SEP);
      if (seen.has(id)) continue;
      seen.add(id);
      keys.push(k);
    }
  }
  return { kind: 'delete', table, keys, childFirst: true };
}

interface ParsedImage {
  readonly text: string;
  /** The primary key's values as text (the image itself when it has none: the upsert reports that). */
  readonly key: string;
  readonly image: { readonly [k: string]: JsonValue } | undefined;
}

/**
 * Orders a run of upsert ops and cuts it back into ops of the same sizes. A key written twice in the
 * run (one op per source transaction) splits it there: the two images must keep their order and must
 * not share a statement with a parent placed between them.
 */
function orderUpsertRun(table: TableInfo, run: readonly Extract<WriteOp, { kind: 'upsert' }>[]): WriteOp[] {
  const out: WriteOp[] = [];
  let part: { op: Extract<WriteOp, { kind: 'upsert' }>; parsed: ParsedImage[] }[] = [];
  const keys = new Set<string>();
  const flush = () => {
    const ordered = orderParsed(table, part.flatMap((p) => p.parsed));
    let at = 0;
    for (const { op } of part) {
      out.push({ kind: 'upsert', table: op.table, rows: ordered.slice(at, at + op.rows.length) });
      at += op.rows.length;
    }
    part = [];
    keys.clear();
  };
  for (const op of run) {
    const parsed = op.rows.map((text) => parseImage(table, text));
    if (parsed.some((p) => keys.has(p.key))) flush();
    for (const p of parsed) keys.add(p.key);
    part.push({ op, parsed });
  }
  flush();
  return out;
}

function orderParsed(table: TableInfo, parsed: readonly ParsedImage[]): string[] {
  const refs: readonly SelfReference[] = table.selfReferences ?? [];
  const links: ValueLink[] = refs.map((r) => ({
    child: parsed.map((p) => imageTuple(p.image, r.columns)),
    parent: parsed.map((p) => imageTuple(p.image, r.referenced)),
  }));
  const { order } = dependencyOrder(parentsByValue(parsed.length, links));
  return order.map((i) => parsed[i]!.text);
}

function parseImage(table: TableInfo, text: string): ParsedImage {
  let v: JsonValue;
  try {
    v = parseExactJson(text);
  } catch {
    return { text, key: text, image: undefined };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber) return { text, key: text, image: undefined };
  const image = v;
  return { text, key: imageTuple(image, table.primaryKey) ?? text, image };
}

/** The values of `columns` in an image as text (names matched as the upsert matches them); undefined if any is missing or null. */
function imageTuple(image: { readonly [k: string]: JsonValue } | undefined, columns: readonly string[]): string | undefined {
  if (!image) return undefined;
  let folded: Map<string, JsonValue> | undefined;
  const out: string[] = [];
  for (const name of columns) {
    let v = Object.prototype.hasOwnProperty.call(image, name) ? image[name] : undefined;
    if (v === undefined) {
      folded ??= new Map(Object.entries(image).map(([k, x]) => [k.toLowerCase(), x]));
      v = folded.get(name.toLowerCase());
    }
    if (v === undefined || v === null) return undefined;
    out.push(stringifyExact(v));
  }
  return out.join(SEP);
}
