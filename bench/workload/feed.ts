/**
 * Turns source transactions into what a CockroachDB webhook changefeed sends: row messages packed into
 * bodies of about --body-bytes, and a resolved timestamp for every --resolved-ms of source time. Each
 * window ends with a write to the marker row (table 0) at exactly the window's resolved timestamp, so
 * the moment a window is committed in the target can be observed on one row.
 *
 * A window's resolved message may only be posted once every body holding its rows has been
 * acknowledged (CockroachDB promises no new row at or below a resolved timestamp), so each window
 * records the index of the last body it needs.
 */
import type { ExpectedState, Op } from './model.js';
import type { RowCodec } from './rows.js';

export interface Txn {
  /** Source commit time relative to the feed's base, in nanoseconds. */
  readonly offsetNs: number;
  readonly ops: readonly Op[];
}

export interface Body {
  readonly index: number;
  readonly buffer: Buffer;
  readonly rows: number;
}

export interface Window {
  readonly index: number;
  /** HLC decimal text of the resolved message closing this window. */
  readonly resolved: string;
  /** Wall-clock seconds of that HLC (what target_applied_timestamp_seconds reports). */
  readonly resolvedSeconds: number;
  /** Index of the last body holding a row of this window (the marker write). */
  readonly lastBody: number;
  /** Marker version written in this window: window index + 1. */
  readonly marker: number;
  /** Data ops of the window in source order (kept only when asked, for the baseline). */
  readonly ops?: readonly Op[];
}

export interface FeedOptions {
  readonly baseNanos: bigint;
  readonly windowNs: number;
  readonly bodyBytes: number;
  /** Close the open body at every window end, as CockroachDB flushes its sink before a resolved. */
  readonly flushAtResolved: boolean;
  readonly keepOps: boolean;
}

const ENVELOPE = '{"payload":[],"length":0000000}'.length;

export class FeedBuilder {
  readonly bodies: Body[] = [];
  readonly windows: Window[] = [];
  /** Row messages sent so far, markers included. */
  rows = 0;
  private parts: string[] = [];
  private partsBytes = 0;
  private windowOps: Op[] = [];
  private windowIndex = 0;

  constructor(
    private readonly codec: RowCodec,
    private readonly model: ExpectedState,
    private readonly options: FeedOptions,
  ) {}

  /** Adds one source transaction; its offset must not go backwards. */
  add(txn: Txn): void {
    this.closeWindowsBefore(txn.offsetNs);
    const hlc = this.hlc(txn.offsetNs);
    for (const op of txn.ops) {
      this.model.apply(op);
      const msg =
        op.version < 0
          ? this.codec.deleteMessage(op.table, this.codec.values(op.table, op.j, 0).id, hlc)
          : this.codec.upsertMessage(op.table, this.codec.values(op.table, op.j, op.version), hlc);
      this.push(msg);
      if (this.options.keepOps) this.windowOps.push(op);
    }
  }

  /** Closes every window that ends at or before `offsetNs` (each gets its marker and resolved). */
  closeWindowsBefore(offsetNs: number): void {
    while (offsetNs >= (this.windowIndex + 1) * this.options.windowNs) this.closeWindow();
  }

  /** Closes the open window even if its source time has not run out (end of a script). */
  finish(): void {
    if (this.windowOps.length > 0 || this.parts.length > 0) this.closeWindow();
    this.flush();
  }

  private closeWindow(): void {
    const endOffset = (this.windowIndex + 1) * this.options.windowNs - 1;
    const resolved = this.hlc(endOffset);
    const marker = this.windowIndex + 1;
    this.model.markerVersion = marker;
    this.push(this.codec.upsertMessage(0, this.codec.markerValues(marker), resolved));
    if (this.options.flushAtResolved) this.flush();
    const nanos = this.options.baseNanos + BigInt(endOffset);
    this.windows.push({
      index: this.windowIndex,
      resolved,
      resolvedSeconds: Number(nanos / 1_000_000n) / 1000,
      lastBody: this.parts.length > 0 ? this.bodies.length : this.bodies.length - 1,
      marker,
      ops: this.options.keepOps ? this.windowOps : undefined,
    });
    this.windowOps = [];
    this.windowIndex++;
  }

  private push(msg: string): void {
    if (this.parts.length > 0 && ENVELOPE + this.partsBytes + msg.length + 1 > this.options.bodyBytes) this.flush();
    this.parts.push(msg);
    this.partsBytes += msg.length + 1;
    this.rows++;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const text = `{"payload":[${this.parts.join(',')}],"length":${this.parts.length}}`;
    this.bodies.push({ index: this.bodies.length, buffer: Buffer.from(text), rows: this.parts.length });
    this.parts = [];
    this.partsBytes = 0;
  }

  private hlc(offsetNs: number): string {
    return `${this.options.baseNanos + BigInt(offsetNs)}.0000000000`;
  }
}

/** Wall-clock now as HLC nanoseconds (microsecond precision is all a double offers here). */
export const nowNanos = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
