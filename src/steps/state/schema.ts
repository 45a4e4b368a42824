/**
 * The state file's shape, validated with zod on every read and write. Versioned: an unknown version is
 * refused with an explanation instead of being guessed at. It never holds a password, token or private
 * key: only redacted connection strings, file paths, ids and timestamps.
 */
import { z } from 'zod';
import { STEP_IDS } from '../config.js';

export const STATE_VERSION = 1;

const JsonSchema: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(JsonSchema), z.record(z.string(), JsonSchema)]),
);

export const StepStatusSchema = z.enum(['pending', 'applying', 'applied', 'verified', 'failed']);
export type StepStatus = z.infer<typeof StepStatusSchema>;

export const StepRecordSchema = z.object({
  status: StepStatusSchema,
  attempts: z.number().int().nonnegative(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Human summary of the last check/verify. */
  detail: z.string().optional(),
  outputs: z.record(z.string(), JsonSchema),
  error: z.object({ code: z.string(), message: z.string(), at: z.string() }).optional(),
});
export type StepRecord = z.infer<typeof StepRecordSchema>;

/** One part of a teardown: what was found and what was done (ids and pids only, never secrets). */
export const TeardownPartSchema = z.object({
  /** done: we ended it now; gone: already ended; refused: not ours, left alone; skipped: not asked or not possible; failed. */
  outcome: z.enum(['done', 'gone', 'refused', 'skipped', 'failed']),
  detail: z.string(),
  /** Job id or pid it was about, when known. */
  handle: z.string().optional(),
});
export type TeardownPart = z.infer<typeof TeardownPartSchema>;

export const StateSchema = z.object({
  version: z.literal(STATE_VERSION),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Step ids in runbook order when the state was created; informational (nothing compares it). */
  runbook: z.array(z.string()),
  /** Redacted description of what this state belongs to (never secrets). */
  subject: z
    .object({
      crdb: z.string().optional(),
      target: z.string().optional(),
      targetSchema: z.string().optional(),
      tables: z.array(z.string()).optional(),
    })
    .default({}),
  steps: z.record(z.string(), StepRecordSchema),
  /** What the last `teardown` did (absent until one ran). */
  teardown: z
    .object({
      at: z.string(),
      changefeed: TeardownPartSchema,
      engine: TeardownPartSchema,
      staging: TeardownPartSchema,
    })
    .optional(),
});
export type FailbackState = z.infer<typeof StateSchema>;

export function emptyState(now = new Date()): FailbackState {
  const at = now.toISOString();
  return { version: STATE_VERSION, createdAt: at, updatedAt: at, runbook: [...STEP_IDS], subject: {}, steps: {} };
}

export function emptyStepRecord(): StepRecord {
  return { status: 'pending', attempts: 0, outputs: {} };
}
