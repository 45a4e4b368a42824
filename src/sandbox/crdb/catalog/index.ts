/**
 * The emulator's own catalog in the backend database: the DDL and PL/pgSQL that implement change
 * capture, HLC stamping, cluster settings, zone configurations and jobs (ddl.ts), the setting
 * registry with CockroachDB's defaults (settings.ts) and the start-up bootstrap. It owns the schemas
 * `_crdb_emulator` and `crdb_internal` and must never touch user schemas beyond installing the
 * capture trigger on their tables.
 */
export { bootstrapCatalog } from './bootstrap.js';
export { CATALOG_SQL, CATALOG_VERSION, SCHEMA } from './ddl.js';
export { SETTINGS, findSetting, normalizeSettingValue, SettingError, type SettingDef } from './settings.js';
