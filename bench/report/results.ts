/** The figures of one run, keyed by phase (a phase left out with --phases is absent). */
import type { BaselineResult } from '../phases/baseline.js';
import type { BacklogResult } from '../phases/backlog.js';
import type { FreshnessResult } from '../phases/freshness.js';
import type { MemoryResult } from '../phases/memory.js';
import type { StartupResult } from '../phases/startup.js';

export interface PhaseResults {
  startup?: StartupResult;
  baseline?: BaselineResult;
  backlog?: BacklogResult;
  freshness?: FreshnessResult;
  memory?: MemoryResult;
}
