/**
 * Duration values as CockroachDB hands them back, normalised to milliseconds so that a setting read
 * back can be compared with the one the wizard wants. SHOW CLUSTER SETTING returns an INTERVAL, which
 * node-postgres turns into an object ({ seconds: 1 }) and CockroachDB prints as "00:00:01"; SHOW ALL
 * CLUSTER SETTINGS returns text such as "250ms" or "1s". All of them mean the same thing here.
 */
import { parseDuration } from '../../lib/config.js';

const UNIT_MS: Record<string, number> = {
  years: 365 * 86_400_000,
  months: 30 * 86_400_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
};

/** "[-]HH:MM:SS[.ffffff]" with an optional leading "N day(s)". */
const CLOCK = /^(?:(-?\d+)\s+days?\s*)?(-)?(\d+):(\d{2}):(\d{2})(?:\.(\d+))?$/;

/** Milliseconds for a duration in any of the shapes above; undefined when the value is not a duration. */
export function durationMs(value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number') return value;
  if (typeof value === 'object') {
    let ms = 0;
    let seen = false;
    for (const [unit, factor] of Object.entries(UNIT_MS)) {
      const v = (value as Record<string, unknown>)[unit];
      if (typeof v === 'number') {
        ms += v * factor;
        seen = true;
      }
    }
    // An all-zero interval comes back as an empty object.
    return seen || Object.keys(value).length === 0 ? ms : undefined;
  }
  const text = String(value).trim();
  const clock = CLOCK.exec(text);
  if (clock) {
    const [, days, neg, h, m, s, frac] = clock;
    const fracMs = frac ? Number(`0.${frac}`) * 1000 : 0;
    const ms = Number(days ?? 0) * 86_400_000 + Number(h) * 3_600_000 + Number(m) * 60_000 + Number(s) * 1000 + fracMs;
    return neg ? -ms : ms;
  }
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** True when two duration values denote the same length (to the microsecond). */
export function sameDuration(a: unknown, b: unknown): boolean {
  const x = durationMs(a);
  const y = durationMs(b);
  return x !== undefined && y !== undefined && Math.abs(x - y) < 0.001;
}

/** Human form for messages: 250ms, 10s, 4m10s, 4h. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : ''].join('');
}
