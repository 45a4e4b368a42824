/**
 * After every phase the target must hold exactly what the changefeed described: the same rows, no
 * extra ones, every column equal. A bench that times a broken engine is worthless, so any difference
 * throws with the first few mismatches named.
 */
import type { ExpectedState } from './workload/model.js';
import type { RowCodec, RowValues } from './workload/rows.js';
import { tableName } from './workload/rows.js';
import type { TargetDb, TargetRow } from './targets/target.js';

const PAGE = 20_000;
const SHOW = 5;

export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationError';
  }
}

/** Numeric order of decimal id texts without BigInt (no leading zeros, all non-negative). */
const compareIds = (a: string, b: string): number => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

function* expectedRows(model: ExpectedState, codec: RowCodec, table: number): Generator<RowValues> {
  if (table === 0 && model.markerVersion > 0) yield codec.markerValues(model.markerVersion);
  for (let j = 0; j < model.size(table); j++) {
    const v = model.version(table, j);
    if (v >= 0) yield codec.values(table, j, v);
  }
}

function differences(want: RowValues, got: TargetRow, table: number): string[] {
  const out: string[] = [];
  const check = (col: string, w: unknown, g: unknown) => {
    if (w !== g) out.push(`${col}: want ${JSON.stringify(w)}, got ${JSON.stringify(g)}`);
  };
  check('parent_id', table === 0 ? null : want.parentId, got.parentId);
  check('version', want.version, got.version);
  check('amount', want.amount, got.amount);
  check('flag', want.flag, got.flag);
  check('updated_at (µs)', String(want.updatedAtMicros), got.updatedAtMicros);
  if (want.payload !== got.payload) out.push(`payload differs (want ${want.payload.length} chars, got ${got.payload.length})`);
  return out;
}

export interface VerifyResult {
  readonly rowsChecked: number;
  readonly perTable: readonly number[];
}

export async function verifyTarget(db: TargetDb, model: ExpectedState, codec: RowCodec, what: string): Promise<VerifyResult> {
  const problems: string[] = [];
  let problemCount = 0;
  const note = (text: string) => {
    problemCount++;
    if (problems.length < SHOW) problems.push(text);
  };
  const perTable: number[] = [];
  for (let table = 0; table < model.tables; table++) {
    const name = tableName(table);
    const want = expectedRows(model, codec, table);
    let next = want.next();
    let after = '-1';
    let seen = 0;
    for (;;) {
      const page = await db.readPage(table, after, PAGE);
      for (const got of page) {
        seen++;
        while (!next.done && compareIds(next.value.id, got.id) < 0) {
          note(`${name} id ${next.value.id} (version ${next.value.version}) is missing`);
          next = want.next();
        }
        if (next.done || compareIds(next.value.id, got.id) > 0) {
          note(`${name} id ${got.id} (version ${got.version}) should not exist`);
          continue;
        }
        const diff = differences(next.value, got, table);
        if (diff.length > 0) note(`${name} id ${got.id}: ${diff.join('; ')}`);
        next = want.next();
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
    }
    for (; !next.done; next = want.next()) note(`${name} id ${next.value.id} (version ${next.value.version}) is missing`);
    perTable.push(seen);
  }
  if (problemCount > 0) {
    throw new VerificationError(
      `${what}: the target does not match what was sent (${problemCount} differences). First ones:\n  ${problems.join('\n  ')}`,
    );
  }
  return { rowsChecked: perTable.reduce((a, b) => a + b, 0), perTable };
}
