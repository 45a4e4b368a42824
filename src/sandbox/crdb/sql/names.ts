/**
 * Name resolution for the single database the emulator serves: `defaultdb`, `postgres`, the
 * backend's own database name (and the connecting user's default) all denote it. Table names lose
 * their database qualifier before reaching PostgreSQL, which rejects cross-database references.
 */
import type { NamePart } from './cursor.js';
import { ident } from './literals.js';

export interface NameContext {
  /** Lower-cased names that denote the backend database. */
  databaseNames: ReadonlySet<string>;
}

type Err = { error: { code: string; message: string } };

export function databaseRef(parts: NamePart[], ctx: NameContext): { name: string } | Err {
  const name = parts.map((p) => p.value).join('.');
  if (parts.length === 1 && ctx.databaseNames.has(name.toLowerCase())) return { name: 'defaultdb' };
  return { error: { code: '3D000', message: `database "${name}" does not exist` } };
}

/** A table name as text for to_regclass(), with a database qualifier removed. */
export function tableRegclassText(parts: NamePart[], ctx: NameContext): { regclass: string; display: string } | Err {
  const display = parts.map((p) => p.text).join('.');
  let p = parts;
  if (p.length === 3) {
    if (!ctx.databaseNames.has((p[0] as NamePart).value.toLowerCase())) {
      return { error: { code: '3D000', message: `database "${(p[0] as NamePart).value}" does not exist` } };
    }
    p = p.slice(1);
  } else if (p.length === 2 && (p[0] as NamePart).value === 'defaultdb') {
    p = p.slice(1);
  } else if (p.length > 3) {
    return { error: { code: '42601', message: `improper qualified name (too many dotted names): ${display}` } };
  }
  return { regclass: p.map((x) => ident(x.value)).join('.'), display };
}
