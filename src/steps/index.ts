/**
 * The failback runbook: the ten steps in their fixed order (ids are state-file keys, never renamed),
 * plus what the commands need around them. This folder automates the runbook; it must not reach into
 * the engine's internals (only src/replicator/index.ts) nor import src/commands.
 */
import { STEP_IDS } from './config.js';
import { createChangefeed } from './create-changefeed.js';
import { drainForward } from './drain-forward.js';
import { enableRangefeeds } from './enable-rangefeeds.js';
import { fetchCursor } from './fetch-cursor.js';
import { grantTargetPrivileges } from './grant-target-privileges.js';
import { monitorChangefeed } from './monitor-changefeed.js';
import { preflight } from './preflight.js';
import { prepareTls } from './prepare-tls.js';
import { startReplicator } from './start-replicator.js';
import type { Step } from './step.js';
import { stopForward } from './stop-forward.js';

export const RUNBOOK: readonly Step[] = Object.freeze([
  preflight,
  enableRangefeeds,
  grantTargetPrivileges,
  prepareTls,
  drainForward,
  stopForward,
  startReplicator,
  fetchCursor,
  createChangefeed,
  monitorChangefeed,
]);

// The order is part of the contract: fail loudly at load time if the list and STEP_IDS drift apart.
if (RUNBOOK.map((s) => s.id).join() !== STEP_IDS.join()) throw new Error('RUNBOOK is out of step with STEP_IDS');
