/**
 * The measured engine runs as its own process (`node bin/run.js replicator start`), so its peak
 * memory and CPU profile are its own and not the bench's. Tuning flags are left at the engine's
 * defaults, as the runbook's `replicator start` example does; only connections, addresses, plain HTTP
 * without authentication (bench only) and -v (which the runbook's example also passes) are set.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { defer } from '../lib/cleanup.js';
import { readCpuSeconds, readMemory, type MemorySample } from '../lib/proc.js';
import { sleep } from '../lib/stats.js';

export interface EngineSpec {
  readonly repoRoot: string;
  /** Entry script: bin/run.js, or a stand-in (a .ts file is run under tsx). */
  readonly entry: string;
  readonly label: string;
  readonly targetUrl: string;
  readonly stagingUrl: string;
  /** db.schema of the staging schema. */
  readonly stagingSchema: string;
  readonly extraArgs: readonly string[];
  readonly logDir: string;
  /** When set, the engine runs with --cpu-prof and writes <label>.cpuprofile here on exit. */
  readonly profileDir?: string;
}

export interface EngineProcess {
  readonly pid: number;
  /** http://127.0.0.1:<port> of the webhook listener and of the metrics listener. */
  readonly webhookOrigin: string;
  readonly metricsOrigin: string;
  readonly logPath: string;
  readonly profilePath: string | undefined;
  readonly args: readonly string[];
  /** Exit code (or signal name) once it has exited. */
  readonly exited: Promise<number | string>;
  isRunning(): boolean;
  memory(): MemorySample | undefined;
  cpuSeconds(): number | undefined;
  /** SIGTERM, then SIGKILL after the grace period; resolves with how it ended. */
  stop(graceMs?: number): Promise<{ code: number | string; graceful: boolean }>;
  logTail(lines?: number): string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startEngine(spec: EngineSpec): Promise<EngineProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  // Connection strings go through the environment, as the runbook advises, so that a password in
  // --pg-url never shows in `ps` or in latest.json.
  const env = {
    ...process.env,
    MOLT_FAILBACK_REPLICATOR_TARGET_CONN: spec.targetUrl,
    MOLT_FAILBACK_REPLICATOR_STAGING_CONN: spec.stagingUrl,
  };
  const args = [
    'replicator',
    'start',
    '--stagingSchema',
    spec.stagingSchema,
    '--stagingCreateSchema',
    '--bindAddr',
    `127.0.0.1:${port}`,
    '--metricsAddr',
    `127.0.0.1:${metricsPort}`,
    '--disableAuthentication',
    '-v',
    ...spec.extraArgs,
  ];
  const nodeArgs = [
    ...(spec.entry.endsWith('.ts') ? ['--import', 'tsx'] : []),
    ...(spec.profileDir ? ['--cpu-prof', '--cpu-prof-dir', spec.profileDir, '--cpu-prof-name', `${spec.label}.cpuprofile`] : []),
  ];
  const logPath = path.join(spec.logDir, `${spec.label}-engine.log`);
  // The engine writes its logs straight to a file: piping them through the bench would cost the
  // bench CPU on the same 2 cores.
  const logFd = openSync(logPath, 'w');
  const child = spawn(process.execPath, [...nodeArgs, spec.entry, ...args], {
    cwd: spec.repoRoot,
    env,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  if (child.pid === undefined) throw new Error('could not start the engine process');
  const pid = child.pid;
  let running = true;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve(code ?? signal ?? 'unknown');
    });
  });

  const logTail = (lines = 25) => {
    try {
      return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  const stop = async (graceMs = 35_000) => {
    if (!running) return { code: await exited, graceful: true };
    child.kill('SIGTERM');
    const timer = sleep(graceMs).then(() => 'timeout' as const);
    if ((await Promise.race([exited, timer])) === 'timeout') {
      child.kill('SIGKILL');
      return { code: await exited, graceful: false };
    }
    return { code: await exited, graceful: true };
  };

  const engine: EngineProcess = {
    pid,
    webhookOrigin: `http://127.0.0.1:${port}`,
    metricsOrigin: `http://127.0.0.1:${metricsPort}`,
    logPath,
    profilePath: spec.profileDir ? path.join(spec.profileDir, `${spec.label}.cpuprofile`) : undefined,
    args,
    exited,
    isRunning: () => running,
    memory: () => readMemory(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    stop,
    logTail,
  };
  defer(`stop engine ${spec.label}`, async () => void (await stop()), () => running && child.kill('SIGKILL'));
  await waitReady(engine);
  return engine;
}

/** Waits for /_/healthz to answer 200 (it checks staging and target), failing fast if the engine exits. */
async function waitReady(engine: EngineProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer';
  while (performance.now() < deadline) {
    if (!engine.isRunning()) {
      throw new Error(`the engine exited (${await engine.exited}) before it was ready. Its log ends with:\n${engine.logTail()}`);
    }
    try {
      const res = await request(`${engine.webhookOrigin}/_/healthz`, { headersTimeout: 2000, bodyTimeout: 2000 });
      last = `${res.statusCode} ${(await res.body.text()).slice(0, 200)}`;
      if (res.statusCode === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`the engine was not ready within ${timeoutMs / 1000} s (last /_/healthz: ${last}). Log:\n${engine.logTail()}`);
}
