/**
 * Creates or refreshes the emulator catalog in the backend (see ddl.ts), seeds the cluster-setting
 * definitions from the TypeScript registry, records which backend this is for version(), and
 * installs capture triggers on the tables that already exist. Idempotent; safe on every start.
 */
import type { InternalDb } from '../backend/internal-db.js';
import { lit, litOrNull } from '../sql/literals.js';
import { CATALOG_SQL } from './ddl.js';
import { SETTINGS, defaultValue } from './settings.js';

export async function bootstrapCatalog(db: InternalDb, backendKind: string): Promise<void> {
  const seed = SETTINGS.map((s) => {
    const d = defaultValue(s);
    return `(${lit(s.name)}, ${lit(s.type)}, ${lit(d.text)}, ${litOrNull(d.micros === null ? null : d.micros.toString())}, ${lit(s.description)}, ${s.public})`;
  }).join(',\n');
  await db.query(
    `${CATALOG_SQL}
DELETE FROM _crdb_emulator.setting_defs;
INSERT INTO _crdb_emulator.setting_defs (name, type, default_text, default_micros, description, public) VALUES
${seed};
INSERT INTO _crdb_emulator.meta (key, value) VALUES ('backend_kind', ${lit(backendKind)})
  ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;`,
  );
  await db.query('CALL _crdb_emulator.install_capture()');
}
