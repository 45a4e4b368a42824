/** What every phase receives: options, the target, the row codec and where to put logs and profiles. */
import type { BenchOptions } from '../lib/options.js';
import type { BenchTarget } from '../targets/target.js';
import type { RowCodec } from '../workload/rows.js';

export interface BenchContext {
  readonly options: BenchOptions;
  readonly repoRoot: string;
  /** Prefix of every database this run creates: molt_bench_<run id>. */
  readonly dbPrefix: string;
  readonly target: BenchTarget;
  readonly codec: RowCodec;
  readonly logDir: string;
  /** Set with --profile. */
  readonly profileDir: string | undefined;
  readonly statementStats: boolean;
  /** Absolute path of the engine's entry script (bin/run.js unless --engine-entry). */
  readonly engineEntry: string;
  /** Engine flags appended to the defaults (--engine-arg). */
  readonly engineArgs: readonly string[];
  /** Rows per statement the engine uses (its --flushSize), which the baseline copies. */
  readonly batchSize: number;
  progress(message: string): void;
}
