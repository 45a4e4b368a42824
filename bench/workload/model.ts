/**
 * The expected target state after a phase: for every table, which row indexes exist and at which
 * version, plus the marker's version. Kept as growable Int32Arrays (-1 = absent) so a 1M-row phase
 * costs a few MB, not a Map of objects.
 */

export interface Op {
  readonly table: number;
  readonly j: number;
  /** New version for an upsert, or -1 for a delete. */
  readonly version: number;
}

export class ExpectedState {
  private readonly versions: Int32Array[];
  private readonly sizes: number[];
  markerVersion = 0;

  constructor(readonly tables: number) {
    this.versions = Array.from({ length: tables }, () => new Int32Array(1024).fill(-1));
    this.sizes = new Array<number>(tables).fill(0);
  }

  apply(op: Op): void {
    let arr = this.versions[op.table]!;
    if (op.j >= arr.length) {
      const grown = new Int32Array(Math.max(arr.length * 2, op.j + 1)).fill(-1);
      grown.set(arr);
      this.versions[op.table] = arr = grown;
    }
    arr[op.j] = op.version;
    if (op.j >= this.sizes[op.table]!) this.sizes[op.table] = op.j + 1;
  }

  /** Current version of a row, -1 when absent. */
  version(table: number, j: number): number {
    return j < this.sizes[table]! ? this.versions[table]![j]! : -1;
  }

  /** Upper bound (exclusive) of row indexes ever written in a table. */
  size(table: number): number {
    return this.sizes[table]!;
  }

  /** Rows expected in a table (the marker row counts in table 0). */
  count(table: number): number {
    let n = table === 0 && this.markerVersion > 0 ? 1 : 0;
    const arr = this.versions[table]!;
    for (let j = 0; j < this.sizes[table]!; j++) if (arr[j]! >= 0) n++;
    return n;
  }
}
