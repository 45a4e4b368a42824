/**
 * Go's time.Duration text forms, because CockroachDB parses and prints changefeed options and
 * duration cluster settings with Go's `time.ParseDuration` and `Duration.String()`. The error texts
 * match Go's so option errors read exactly like CockroachDB's (`time: invalid duration "abc"`).
 * Durations are kept as bigint nanoseconds: no float rounding.
 */

export class GoDurationError extends Error {}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const MAX = (1n << 63n) - 1n;

/** Go quotes the input with strconv.Quote; plain JSON quoting matches it for printable text. */
const quote = (s: string) => JSON.stringify(s);

/** Parses like Go's time.ParseDuration; returns nanoseconds (may be negative). */
export function parseGoDuration(input: string): bigint {
  let s = input;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw new GoDurationError(`time: invalid duration ${quote(input)}`);
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s) as RegExpExecArray;
    const whole = m[1] ?? '';
    const frac = m[2];
    if (whole === '' && (frac === undefined || frac === '')) throw new GoDurationError(`time: invalid duration ${quote(input)}`);
    s = s.slice(m[0].length);
    const u = /^[^\d.]+/.exec(s);
    if (!u) throw new GoDurationError(`time: missing unit in duration ${quote(input)}`);
    const unitText = u[0];
    const unit = UNITS[unitText];
    if (unit === undefined) throw new GoDurationError(`time: unknown unit ${quote(unitText)} in duration ${quote(input)}`);
    s = s.slice(unitText.length);
    let v = (whole === '' ? 0n : BigInt(whole)) * unit;
    if (frac) {
      // Go truncates the fraction towards zero at nanosecond resolution.
      const scaled = (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
      v += scaled;
    }
    total += v;
    if (total > MAX) throw new GoDurationError(`time: invalid duration ${quote(input)}`);
  }
  return neg ? -total : total;
}

function fmtFrac(v: bigint, prec: number): { text: string; rest: bigint } {
  // Prints the low `prec` digits of v as a fraction without trailing zeros (Go's fmtFrac).
  let digits = '';
  let print = false;
  let rest = v;
  for (let i = 0; i < prec; i++) {
    const d = rest % 10n;
    print = print || d !== 0n;
    if (print) digits = d.toString() + digits;
    rest /= 10n;
  }
  return { text: print ? `.${digits}` : '', rest };
}

/** Formats like Go's Duration.String(): 0s, 250ms, 1.5µs, 3s, 1m30s, 96h0m0s. */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return '0s';
  const neg = nanos < 0n;
  let u = neg ? -nanos : nanos;
  let out: string;
  if (u < 1_000_000_000n) {
    let prec: number;
    let unit: string;
    if (u < 1_000n) {
      return `${neg ? '-' : ''}${u}ns`;
    } else if (u < 1_000_000n) {
      prec = 3;
      unit = 'µs';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const f = fmtFrac(u, prec);
    out = `${f.rest}${f.text}${unit}`;
  } else {
    const f = fmtFrac(u, 9);
    u = f.rest; // whole seconds
    let text = `${u % 60n}${f.text}s`;
    u /= 60n;
    if (u > 0n) {
      text = `${u % 60n}m${text}`;
      u /= 60n;
      if (u > 0n) text = `${u}h${text}`;
    }
    out = text;
  }
  return `${neg ? '-' : ''}${out}`;
}

/** Whole milliseconds (truncated); takes the decimal text that runtime options carry, too. */
export const nanosToMillis = (n: bigint | string): number => Number(BigInt(n) / 1_000_000n);
