/**
 * CockroachDB hybrid-logical-clock timestamps, kept exact: wall nanoseconds as bigint (they exceed 2^53)
 * and the logical counter as a number. Two text forms exist:
 *  - decimal `<nanos>.<10-digit logical>` (cursor, updated, resolved, cluster_logical_timestamp());
 *  - status `<seconds>.<9-digit nanos>,<logical>` (running_status, error texts); the MOLT runbook also
 *    prints `<nanos>,<logical>`, which parseStatusHlc accepts too.
 */
import { AppError, ExitCode } from './errors.js';

export interface Hlc {
  readonly nanos: bigint;
  readonly logical: number;
}

export const ZERO_HLC: Hlc = Object.freeze({ nanos: 0n, logical: 0 });

const DECIMAL = /^(\d+)\.(\d+)$/;

export class HlcParseError extends AppError {
  constructor(text: string, reason: string) {
    super('HLC_INVALID', `can't parse timestamp "${text}": ${reason}`, { exitCode: ExitCode.USAGE });
  }
}

/**
 * Parses the decimal form. Like MOLT Replicator: exactly one dot, the logical part must be 10 digits
 * or zero-valued (`123.0` is fine, `123.5` is not). A bare integer is accepted as logical 0.
 */
export function parseHlc(text: string): Hlc {
  // The form CockroachDB always sends, `<19 digits>.<10 digits>`, checked by hand (no regex, no trim):
  // this runs for every source transaction received.
  if (text.length === 30 && text.charCodeAt(19) === 0x2e && allDigits(text, 0, 19) && allDigits(text, 20, 30)) {
    const logical = Number(text.slice(20));
    const nanos = BigInt(text.slice(0, 19));
    if (logical <= 0x7fffffff && nanos <= 0x7fffffffffffffffn) return { nanos, logical };
  }
  const t = text.trim();
  if (/^\d+$/.test(t)) return { nanos: BigInt(t), logical: 0 };
  const m = DECIMAL.exec(t);
  if (!m) throw new HlcParseError(text, 'expected <nanos>.<logical>');
  const [, nanosText, logicalText] = m as unknown as [string, string, string];
  if (logicalText.length !== 10 && !/^0+$/.test(logicalText)) {
    throw new HlcParseError(text, `logical part "${logicalText}" must be 10 digits or zero-valued`);
  }
  const logical = Number(logicalText);
  if (!Number.isSafeInteger(logical) || logical > 0x7fffffff) throw new HlcParseError(text, 'logical part out of range');
  const nanos = BigInt(nanosText);
  if (nanos > 0x7fffffffffffffffn) throw new HlcParseError(text, 'nanos out of range');
  return { nanos, logical };
}

function allDigits(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

export const isValidHlc = (text: string): boolean => {
  try {
    parseHlc(text);
    return true;
  } catch {
    return false;
  }
};

/** Canonical decimal form `%d.%010d`. */
export function formatHlc(h: Hlc): string {
  return `${h.nanos}.${String(h.logical).padStart(10, '0')}`;
}

/** Status form `<seconds>.<9-digit nanos>,<logical>` as CockroachDB prints it in running_status. */
export function formatStatusHlc(h: Hlc): string {
  const s = h.nanos / 1_000_000_000n;
  const ns = h.nanos % 1_000_000_000n;
  return `${s}.${String(ns).padStart(9, '0')},${h.logical}`;
}

/** Parses `s.nnnnnnnnn,l` or `nanos,l`; returns undefined when the text is neither. */
export function parseStatusHlc(text: string): Hlc | undefined {
  const m = /(\d+)(?:\.(\d{9}))?,(\d+)/.exec(text);
  if (!m) return undefined;
  const [, whole, frac, logical] = m as unknown as [string, string, string | undefined, string];
  const nanos = frac === undefined ? BigInt(whole) : BigInt(whole) * 1_000_000_000n + BigInt(frac);
  return { nanos, logical: Number(logical) };
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.nanos !== b.nanos) return a.nanos < b.nanos ? -1 : 1;
  return a.logical - b.logical;
}

/** Wall time in seconds as a float (for gauges such as target_applied_timestamp_seconds). */
export const hlcSeconds = (h: Hlc): number => Number(h.nanos) / 1e9;

/** Wall time as a Date (millisecond precision). */
export const hlcDate = (h: Hlc): Date => new Date(Number(h.nanos / 1_000_000n));
