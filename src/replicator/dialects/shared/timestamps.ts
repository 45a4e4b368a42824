/**
 * Date/time text handling shared by the dialects, done on text so that microseconds (and beyond)
 * survive: a JS Date only keeps milliseconds. No SQL and no driver here.
 */

export interface DateTimeParts {
  /** Signed year (BC years are negative, as PostgreSQL's "0044-03-15 BC" means year -43). */
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Fraction digits as written (may be longer than 6). */
  fraction: string;
  /** Offset east of UTC in seconds, when the text carried one ("Z" is 0). */
  offsetSeconds?: number;
  /** True when the text had a time part. */
  hasTime: boolean;
}

const DATE_TIME =
  /^(\d{4,})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|UTC|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?)?(\s+BC)?$/;

/** Parses ISO 8601 / RFC 3339 and the SQL forms ("2025-09-30 15:42:02.007+00"); undefined otherwise. */
export function parseDateTime(text: string): DateTimeParts | undefined {
  const m = DATE_TIME.exec(text.trim());
  if (!m) return undefined;
  let year = Number(m[1]);
  if (m[9]) year = 1 - year;
  const parts: DateTimeParts = {
    year,
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
    fraction: m[7] ?? '',
    hasTime: m[4] !== undefined,
  };
  if (m[8] !== undefined) parts.offsetSeconds = parseOffset(m[8]);
  return parts;
}

function parseOffset(text: string): number {
  if (/^(z|utc)$/i.test(text)) return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const digits = text.slice(1).replace(/:/g, '');
  // "+5" / "+05" are hours only; "+0530" hours and minutes; "+053015" with seconds.
  const hh = digits.length <= 2 ? digits : digits.slice(0, 2);
  const mm = digits.length > 2 ? digits.slice(2, 4) : '0';
  const ss = digits.length > 4 ? digits.slice(4, 6) : '0';
  return sign * (Number(hh) * 3600 + Number(mm) * 60 + Number(ss));
}

/** Shifts parts to UTC (drops the offset); parts without an offset are returned unchanged. */
export function toUtc(p: DateTimeParts): DateTimeParts {
  if (!p.offsetSeconds) return { ...p, offsetSeconds: p.offsetSeconds === undefined ? undefined : 0 };
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day);
  d.setUTCHours(p.hour, p.minute, p.second - p.offsetSeconds, 0);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    fraction: p.fraction,
    offsetSeconds: 0,
    hasTime: true,
  };
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, '0');

/** Fraction digits cut (not rounded) or padded to `digits`. */
export const fraction = (f: string, digits = 6): string => (f + '0'.repeat(digits)).slice(0, digits);

/** "YYYY-MM-DD" (astronomical years: 1 BC is 0000 and 2 BC is -0001, as ISO 8601 writes them). */
export function formatDate(p: DateTimeParts): string {
  const y = p.year < 0 ? `-${pad(-p.year, 4)}` : pad(p.year, 4);
  return `${y}-${pad(p.month)}-${pad(p.day)}`;
}

/** "YYYY-MM-DD<sep>HH:MM:SS.ffffff" with exactly `digits` fraction digits. */
export function formatDateTime(p: DateTimeParts, sep = 'T', digits = 6): string {
  const base = `${formatDate(p)}${sep}${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  return digits > 0 ? `${base}.${fraction(p.fraction, digits)}` : base;
}

const TIME = /^(-?)(\d{1,3}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(?:Z|[+-]\d{1,2}(?::?\d{2})?)?$/i;

/** "HH:MM:SS.ffffff" from a time text (an offset, as in PostgreSQL's timetz, is dropped). */
export function canonicalTime(text: string): string {
  const m = TIME.exec(text.trim());
  if (!m) return text;
  return `${m[1]}${m[2]!.padStart(2, '0')}:${m[3]}:${m[4] ?? '00'}.${fraction(m[5] ?? '')}`;
}
