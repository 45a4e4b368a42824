/**
 * The bench tables and their rows. Every column value is a pure function of (table, row index,
 * version), so the expected target contents can be recomputed for verification instead of stored, and
 * the baseline writes exactly the values the changefeed messages carry.
 *
 * Values are chosen to exercise what CockroachDB really sends: INT8 keys above 2^53 (ids start at
 * 10^18, like unique_rowid()), DECIMAL as a JSON number with its scale, TIMESTAMPTZ in Go's RFC 3339
 * form with trailing fraction zeros trimmed, and a text column whose width is configurable.
 */

export const tableName = (i: number): string => `bench_t${i}`;

/** 10^18 + j as decimal text (no BigInt needed: j < 10^18). */
export const idText = (j: number): string => `1${String(j).padStart(18, '0')}`;

/** The marker row lives in table 0 below every data id; its version is the last applied window. */
export const MARKER_ID = '999999999999999999';

// 2025-01-01T00:00:00Z in microseconds.
const TS_BASE_US = 1_735_689_600_000_000;

export interface RowValues {
  readonly id: string;
  /** Id of the row in the previous table of the chain (undefined for table 0). */
  readonly parentId: string | undefined;
  readonly version: number;
  /** DECIMAL(12,2) as text with exactly two fraction digits. */
  readonly amount: string;
  readonly flag: boolean;
  /** Microseconds since the epoch (for verification) and the wire form (for messages and baseline). */
  readonly updatedAtMicros: number;
  readonly updatedAt: string;
  readonly payload: string;
}

export class RowCodec {
  private readonly pool: string;

  constructor(
    readonly rowBytes: number,
    seed: number,
  ) {
    // A fixed pseudo-random character pool; each row's text is a window into it, so rows differ
    // without generating random text per row.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.';
    let s = seed >>> 0 || 1;
    const chars: string[] = [];
    for (let k = 0; k < rowBytes + 4096; k++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      chars.push(alphabet[(s >>> 16) % alphabet.length]!);
    }
    this.pool = chars.join('');
  }

  values(table: number, j: number, version: number): RowValues {
    const cents = (j * 7919 + version * 104_729 + table * 31) % 10_000_000;
    const micros = TS_BASE_US + j * 1_000_003 + version * 7_777 + table * 13;
    const offset = (j * 131 + version * 977 + table * 7919) % 4096;
    return {
      id: idText(j),
      parentId: table === 0 ? undefined : idText(j),
      version,
      amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
      flag: (j + version + table) % 3 === 0,
      updatedAtMicros: micros,
      updatedAt: rfc3339Micros(micros),
      payload: this.pool.slice(offset, offset + this.rowBytes),
    };
  }

  markerValues(version: number): RowValues {
    return { ...this.values(0, 0, version), id: MARKER_ID };
  }

  /** The `after` object as CockroachDB's JSON encoder writes it: compact, keys in sorted order. */
  afterJson(table: number, v: RowValues): string {
    const parent = table === 0 ? '' : `"parent_id":${v.parentId},`;
    return (
      `{"amount":${v.amount},"flag":${v.flag},"id":${v.id},${parent}` +
      `"payload":${JSON.stringify(v.payload)},"updated_at":"${v.updatedAt}","version":${v.version}}`
    );
  }

  upsertMessage(table: number, v: RowValues, hlc: string): string {
    return `{"after":${this.afterJson(table, v)},"key":[${v.id}],"topic":"${tableName(table)}","updated":"${hlc}"}`;
  }

  deleteMessage(table: number, id: string, hlc: string): string {
    return `{"after":null,"key":[${id}],"topic":"${tableName(table)}","updated":"${hlc}"}`;
  }
}

/** RFC 3339 with up to 6 fraction digits, trailing zeros trimmed, "Z" (Go's RFC3339Nano on UTC). */
function rfc3339Micros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const base = new Date(ms).toISOString().slice(0, 19);
  const frac = String((ms % 1000) * 1000 + (micros % 1000)).padStart(6, '0').replace(/0+$/, '');
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}
