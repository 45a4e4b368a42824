/**
 * The verify service: compares tables between CockroachDB and the failback target by primary-key
 * chunks (row counts and content digests, then row diffs where digests differ), re-checks differences
 * while replication catches up, and returns a JSON-ready report. Used by `molt-failback verify`, the
 * sandbox and the wizard. It must not print, parse flags or exit: callers render the report.
 */
export { verifyTables, VERIFY_DEFAULTS } from './verify.js';
export type {
  DifferenceCounts,
  DifferenceKind,
  RowDifference,
  RowValues,
  SchemaComparison,
  TableReport,
  VerifyEndpoint,
  VerifyOptions,
  VerifyProgress,
  VerifyReport,
} from './types.js';
export { renderReport } from './render.js';
