/** What the SQL renderers produce, and the write limits they chunk to. No SQL text lives here. */

/** One statement with positional parameters (PostgreSQL `$n`, MySQL `?`). */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** Rows this statement writes (for WriteResult). */
  readonly rows: number;
  /**
   * A stable name when the text does not depend on the row count, so the driver can keep it prepared
   * per connection (PostgreSQL unnest statements).
   */
  readonly name?: string;
  /**
   * PostgreSQL: for each parameter that is an array of element texts, the element type OID when the
   * driver may send it in binary form instead (see pg-arrays.ts); the texts stay in `params`.
   */
  readonly arrayElementOids?: readonly (number | undefined)[];
}

export interface WriteLimits {
  /** Rows per statement (the engine's --flushSize); the dialect's bind limits may lower it. */
  readonly maxRowsPerStatement: number;
}

export const DEFAULT_WRITE_LIMITS: WriteLimits = Object.freeze({ maxRowsPerStatement: 1000 });
