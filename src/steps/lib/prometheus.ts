/**
 * A small parser for the Prometheus text exposition format (what /_/varz serves), plus the sums the
 * steps need. It reads samples only: HELP/TYPE lines and timestamps are skipped, because the steps
 * compare successive scrapes themselves instead of trusting a server-side rate.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class PrometheusParseError extends Error {
  constructor(message: string, readonly line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'PrometheusParseError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

// Case-insensitive like Prometheus's own parser (Go's strconv.ParseFloat): prom-client, which our engine
// uses, prints NaN as "Nan" (prom-client lib/util.js), and a NaN gauge must not make the scrape unreadable.
function parseValue(text: string, line: number): number {
  switch (text.toLowerCase()) {
    case '+inf':
    case 'inf':
    case '+infinity':
    case 'infinity':
      return Number.POSITIVE_INFINITY;
    case '-inf':
    case '-infinity':
      return Number.NEGATIVE_INFINITY;
    case 'nan':
      return Number.NaN;
    default: {
      const n = Number(text);
      if (text === '' || Number.isNaN(n)) throw new PrometheusParseError(`"${text}" is not a sample value`, line);
      return n;
    }
  }
}

/** Parses `{a="x",b="y\"z"}` starting at `pos` (the `{`); returns the labels and the position after `}`. */
function parseLabels(s: string, pos: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let p = pos + 1;
  for (;;) {
    while (s[p] === ' ' || s[p] === ',') p++;
    if (s[p] === '}') return { labels, end: p + 1 };
    const m = NAME.exec(s.slice(p));
    if (!m) throw new PrometheusParseError('expected a label name', line);
    const key = m[0];
    p += key.length;
    while (s[p] === ' ') p++;
    if (s[p] !== '=' || s[p + 1] !== '"') throw new PrometheusParseError(`expected ="..." after label ${key}`, line);
    p += 2;
    let value = '';
    for (;;) {
      const c = s[p];
      if (c === undefined) throw new PrometheusParseError('unterminated label value', line);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[p + 1];
        value += e === 'n' ? '\n' : (e ?? '');
        p += 2;
        continue;
      }
      value += c;
      p++;
    }
    labels[key] = value;
    p++;
  }
}

/** Parses a whole exposition; throws PrometheusParseError naming the line on malformed input. */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] as string).trim();
    if (raw === '' || raw.startsWith('#')) continue;
    const m = NAME.exec(raw);
    if (!m) throw new PrometheusParseError('expected a metric name', i + 1);
    const name = m[0];
    let p = name.length;
    let labels: Record<string, string> = {};
    if (raw[p] === '{') {
      const parsed = parseLabels(raw, p, i + 1);
      labels = parsed.labels;
      p = parsed.end;
    }
    const rest = raw.slice(p).trim().split(/\s+/);
    out.push({ name, labels, value: parseValue(rest[0] ?? '', i + 1) });
  }
  return out;
}

/** Samples whose name is one of `names` (the first name present wins, so old/new spellings can be listed). */
export function pickFamily(samples: readonly Sample[], names: readonly string[]): Sample[] {
  for (const n of names) {
    const found = samples.filter((s) => s.name === n);
    if (found.length > 0) return found;
  }
  return [];
}

/** Sum of a family's values grouped by the first label in `labelKeys` present on each sample. */
export function sumBy(samples: readonly Sample[], labelKeys: readonly string[], fallback = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const key = labelKeys.map((k) => s.labels[k]).find((v) => v !== undefined) ?? fallback;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** Sum of every sample of a family (optionally only those matching `where`). */
export function total(samples: readonly Sample[], where: (s: Sample) => boolean = () => true): number {
  return samples.filter(where).reduce((a, s) => a + s.value, 0);
}

/** Largest value of a gauge family grouped like sumBy (gauges must not be added up). */
export function maxBy(samples: readonly Sample[], labelKeys: readonly string[], fallback = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const key = labelKeys.map((k) => s.labels[k]).find((v) => v !== undefined) ?? fallback;
    const cur = out.get(key);
    if (cur === undefined || s.value > cur) out.set(key, s.value);
  }
  return out;
}
