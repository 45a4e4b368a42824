/**
 * The last line of defence against printing a secret: every secret value the config holds, and a
 * scrubber that replaces them (and any URL password) in text about to be shown.
 */
import { getPath } from '../lib/config.js';
import { parseConn, redactConn, redactText } from '../lib/conn.js';
import type { FailbackConfig } from './config.js';
import { SETTING_DEFS } from './settings.js';


/**
 * Every secret text the config holds (connection strings, their passwords, raw and decoded), longest
 * first. Output that could quote a driver message or a step's text goes through scrub() as a last
 * line of defence; steps are already expected to redact.
 */
export function secretValues(config: Readonly<FailbackConfig> | undefined): string[] {
  if (!config) return [];
  const out = new Set<string>();
  for (const def of SETTING_DEFS) {
    if (!def.secret) continue;
    const v = getPath(config as unknown as Record<string, unknown>, def.key);
    if (typeof v !== 'string' || !v) continue;
    out.add(v);
    try {
      const p = parseConn(v, def.key);
      if (p.password.length >= 3) {
        out.add(p.password);
        out.add(p.url.password);
      }
    } catch {
      // Not a URL: the whole value is already in the set.
    }
  }
  return [...out].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
}

export type Scrubber = (text: string) => string;

export function makeScrubber(config: Readonly<FailbackConfig> | undefined): Scrubber {
  const secrets = secretValues(config);
  return (text: string) => {
    let out = redactText(text);
    for (const s of secrets) out = out.split(s).join(s.includes('://') ? redactConn(s) : '****');
    return out;
  };
}

