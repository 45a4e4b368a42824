/**
 * Change capture for the emulator: row triggers (installed by the catalog's install_capture) append
 * every insert, update and delete to _crdb_emulator.changes; the Stamper moves committed ones into
 * stamped events on a timer. It must never capture the emulator's own schemas.
 */
export { Stamper } from './stamper.js';
