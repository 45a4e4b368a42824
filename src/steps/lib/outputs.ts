/**
 * The outputs each step records in the state file, as zod schemas: one definition that the steps
 * write, later steps read, and `status` / `teardown` display. Outputs hold ids, timestamps, redacted
 * URLs, file paths and fingerprints; never a password, token or key (the state file's rule).
 */
import { z } from 'zod';
import { AppError, ExitCode } from '../../lib/errors.js';
import type { StepId } from '../config.js';
import type { Outputs, StepContext } from '../step.js';

export const PreflightOutputs = z.object({
  checkedAt: z.string(),
  /** SHA-256 of the facts below: check compares it with a fresh probe. */
  digest: z.string(),
  crdbVersion: z.string(),
  stagingVersion: z.string(),
  targetVersion: z.string(),
  targetDialect: z.enum(['postgres', 'mysql', 'oracle']),
  targetSchema: z.array(z.string()),
  targetUser: z.string(),
  /** CockroachDB tables as "schema.table" (catalog spelling). */
  tables: z.array(z.string()),
  /** CockroachDB primary-key order per table. */
  sourceKeys: z.record(z.string(), z.array(z.string())),
  /** Tables (bare names, as the changefeed's topic) whose source key order differs from the target's. */
  sourceKeyColumns: z.record(z.string(), z.array(z.string())),
  /** Privileges grant-target-privileges will add, per target table. */
  missingPrivileges: z.record(z.string(), z.array(z.string())),
  warnings: z.array(z.string()),
});
export type PreflightOutputs = z.infer<typeof PreflightOutputs>;

export const RangefeedOutputs = z.object({
  enabled: z.boolean(),
  tuned: z.boolean(),
  changed: z.array(z.string()),
  at: z.string(),
});

export const GrantOutputs = z.object({
  user: z.string(),
  method: z.enum(['admin', 'dba', 'none-needed']),
  statements: z.array(z.string()),
  at: z.string(),
});

export const TlsOutputs = z.object({
  mode: z.enum(['generated', 'provided']),
  host: z.string(),
  serverCert: z.string(),
  serverKey: z.string(),
  /** CA sent to CockroachDB as ca_cert (absent: the server certificate is publicly trusted). */
  caCert: z.string().optional(),
  caKey: z.string().optional(),
  clientCert: z.string().optional(),
  clientKey: z.string().optional(),
  fingerprints: z.record(z.string(), z.string()),
  sans: z.array(z.string()),
  notAfter: z.string(),
});
export type TlsOutputs = z.infer<typeof TlsOutputs>;

export const DrainOutputs = z.object({
  drainedAt: z.string(),
  method: z.enum(['metrics', 'confirmed']),
  /** Rows applied per schema when the drain was proven (metrics only). */
  rows: z.record(z.string(), z.number()).optional(),
  quietMs: z.number().optional(),
});

export const StopForwardOutputs = z.object({
  method: z.enum(['signal', 'confirmed', 'already-stopped']),
  pid: z.number().optional(),
  /** The signalled process's start time (clock ticks since boot, Linux): tells it apart from a later process reusing the pid. */
  startTicks: z.number().optional(),
  signalledAt: z.string().optional(),
  stoppedAt: z.string().optional(),
});
export type StopForwardOutputs = z.infer<typeof StopForwardOutputs>;

export const EngineOutputs = z.object({
  pid: z.number(),
  pidFile: z.string(),
  logFile: z.string(),
  tokenFile: z.string(),
  metricsUrl: z.string(),
  healthUrl: z.string(),
  webhookUrl: z.string(),
  fingerprint: z.string(),
  startedAt: z.string(),
  adopted: z.boolean(),
});
export type EngineOutputs = z.infer<typeof EngineOutputs>;

export const CursorOutputs = z.object({
  cursor: z.string(),
  source: z.enum(['fetched', 'configured']),
  fetchedAt: z.string(),
  gcTtlSeconds: z.number(),
  gcFrom: z.string(),
});

export const ChangefeedOutputs = z.object({
  jobId: z.string(),
  createdAt: z.string(),
  /** Sink URI with certificate parameters as ****. */
  sink: z.string(),
  cursor: z.string(),
  tables: z.array(z.string()),
  adopted: z.boolean(),
  /** Earlier jobs of ours that ended and were replaced (newest last). */
  replaced: z.array(z.string()).optional(),
});
export type ChangefeedOutputs = z.infer<typeof ChangefeedOutputs>;

export const MonitorOutputs = z.object({
  jobId: z.string(),
  provenAt: z.string(),
  http200: z.number(),
  appliedSeconds: z.number(),
  highWater: z.string(),
  status: z.string(),
});

/** Parses a step's outputs; undefined when absent or of an older shape (the step then re-derives them). */
export function outputsOf<S extends z.ZodType>(ctx: Pick<StepContext, 'outputs'>, id: StepId, schema: S): z.infer<S> | undefined {
  const parsed = schema.safeParse(ctx.outputs(id));
  return parsed.success ? parsed.data : undefined;
}

/** Like outputsOf, but a missing prerequisite is an error that says which step to run. */
export function requireOutputs<S extends z.ZodType>(ctx: Pick<StepContext, 'outputs'>, id: StepId, schema: S, what: string): z.infer<S> {
  const out = outputsOf(ctx, id, schema);
  if (out === undefined) {
    throw new AppError('PREREQUISITE_MISSING', `${what} is not known yet: the ${id} step has not run.`, {
      exitCode: ExitCode.FAILED,
      actions: [`Run it first: molt-failback step ${id} (or molt-failback run).`],
    });
  }
  return out;
}

export const asOutputs = (o: object): Outputs => JSON.parse(JSON.stringify(o)) as Outputs;
