/**
 * Is this pid the forward replicator? stop-forward sends a signal only when it can say why it believes
 * so, because the pid it was given (--forward-pid, a pid file) may be stale: after the replicator exits
 * the kernel hands the number to the next process that starts. A pid counts as the forward replicator
 * when one of these holds:
 *  1. its command line runs a `replicator` executable (MOLT Replicator's binary, also with a version or
 *     platform suffix such as replicator-linux-amd64): argv[0], as `ps` shows it;
 *  2. the forward metrics URL is configured, points at this machine, answers, and this process holds
 *     the listening socket on its port (Linux: /proc/<pid>/net/tcp{,6} inodes matched against the
 *     socket links in /proc/<pid>/fd), so it is the process serving the forward replicator's metrics;
 *  3. it is the very process this step already sent SIGTERM to (same pid and same start time), i.e. a
 *     run resumed while the replicator was still shutting down.
 * A name in the arguments is not enough (molt-failback's own engine runs as `node run.js replicator
 * start`), and neither is a pid file's age: that would prove which process the file meant, not that
 * it is a replicator. Read-only: reads /proc (or `ps` where there is no /proc) and takes the caller's
 * word on whether the endpoint answers. Safe to call concurrently.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { endianness, networkInterfaces } from 'node:os';
import { basename } from 'node:path';
import { redactText } from '../../lib/conn.js';

/** MOLT Replicator's executable: `replicator`, optionally with a suffix (replicator-v1.2, replicator.exe). */
const REPLICATOR_EXECUTABLE = /^replicator(?:[-_.][\w.-]*)?$/i;

export interface ProcessFacts {
  /** The command line as the kernel reports it (empty when unreadable). */
  argv: string[];
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22); undefined without /proc. */
  startTicks?: number;
}

export interface ForwardIdentity {
  identified: boolean;
  /** Why the process is (or is not) taken for the forward replicator, in words for messages. */
  reason: string;
  /** The command line, shortened and with passwords replaced by ****, for messages (never for state). */
  commandLine: string;
  startTicks?: number;
  /** Rule 3: the process this step already signalled. */
  alreadySignalled: boolean;
}

export interface IdentifyInput {
  pid: number;
  /** --forward-metrics-url, when configured. */
  metricsUrl?: string;
  /** Whether that URL answers right now (the caller already asked). */
  metricsAnswer: boolean;
  /** What this step recorded when it signalled a process and that process has not been seen to exit. */
  signalled?: { pid?: number; startTicks?: number };
  /** Pids that are certainly not the forward replicator (molt-failback itself, its own engine), with what they are. */
  excluded?: ReadonlyMap<number, string>;
}

/** Start time in clock ticks since boot, or undefined (no /proc, or the process is gone). */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

export function processFacts(pid: number): ProcessFacts {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    return { argv, startTicks: processStartTicks(pid) };
  } catch {
    // No /proc (macOS, BSD): ps prints the arguments joined by spaces, which is enough for argv[0].
    try {
      const out = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      return { argv: out ? [out] : [] };
    } catch {
      return { argv: [] };
    }
  }
}

/**
 * The executable's file name. A process that rewrote its title (setproctitle, Node's process.title)
 * reports one string with spaces: its first word is then the name.
 */
export function executableName(argv: readonly string[]): string {
  const first = argv[0] ?? '';
  const word = argv.length === 1 && /\s/.test(first.trim()) ? (first.trim().split(/\s+/)[0] as string) : first;
  return basename(word);
}

export const isReplicatorExecutable = (argv: readonly string[]): boolean => REPLICATOR_EXECUTABLE.test(executableName(argv));

/** For messages: at most ~160 characters, URL passwords and password=... parameters as ****. */
export function displayCommandLine(argv: readonly string[]): string {
  const text = redactText(argv.join(' ')).replace(/(password=)[^&\s'"]+/gi, '$1****');
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

// ---- rule 2: who listens on the metrics port -------------------------------------------------------

/** An address from /proc/net/tcp{,6} ("0100007F", 32 hex digits for IPv6) as 4 or 16 bytes. */
function procAddrBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    // Each 32-bit word is printed in host byte order.
    const word = [0, 2, 4, 6].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(endianness() === 'LE' ? word.reverse() : word));
  }
  return bytes;
}

/** A textual IPv4 or IPv6 address as 4 or 16 bytes (undefined when it is neither). */
export function ipBytes(addr: string): number[] | undefined {
  const a = addr.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIP(a) === 4) return a.split('.').map(Number);
  if (isIP(a) !== 6) return undefined;
  // An embedded IPv4 tail (::ffff:127.0.0.1) becomes two hex groups.
  const text = a.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, w, x, y, z) => `${((+w << 8) | +x).toString(16)}:${((+y << 8) | +z).toString(16)}`);
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const zeros = rest === undefined ? [] : new Array<string>(Math.max(0, 8 - h.length - r.length)).fill('0');
  return [...h, ...zeros, ...r].slice(0, 8).flatMap((g) => {
    const n = parseInt(g || '0', 16);
    return [n >> 8, n & 0xff];
  });
}

const isUnspecified = (b: readonly number[]): boolean => b.every((x) => x === 0);
const v4Mapped = (b: readonly number[]): number[] | undefined =>
  b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff ? b.slice(12) : undefined;
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function isLocal(b: readonly number[]): boolean {
  if (b.length === 4 && b[0] === 127) return true;
  if (b.length === 16 && same(b, [...new Array<number>(15).fill(0), 1])) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const ni of list ?? []) {
      const nb = ipBytes(ni.address);
      if (nb && same(nb, b)) return true;
    }
  }
  return false;
}

/** Local addresses (bytes) the URL's host resolves to, and its port; undefined when it is not on this machine. */
async function localTarget(metricsUrl: string): Promise<{ port: number; addrs: number[][] } | { why: string }> {
  let url: URL;
  try {
    url = new URL(metricsUrl);
  } catch {
    return { why: `${metricsUrl} is not a URL` };
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addrs: number[][];
  try {
    addrs = isIP(host) ? [ipBytes(host) as number[]] : (await lookup(host, { all: true })).map((a) => ipBytes(a.address)).filter((b): b is number[] => b !== undefined);
  } catch (err) {
    return { why: `${host} does not resolve (${(err as Error).message})` };
  }
  const local = addrs.filter(isLocal);
  if (local.length === 0) return { why: `${host} is not this machine, so its listener cannot be matched to a local pid` };
  return { port, addrs: local };
}

/** True/false: the pid holds a LISTEN socket for one of `target`'s addresses (or any address); a string: why it cannot be told. */
function listensOn(pid: number, target: { port: number; addrs: number[][] }): boolean | string {
  const inodes = new Set<string>();
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      if (file === 'tcp') return 'its sockets cannot be read here (no /proc)';
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue; // 0A: TCP_LISTEN
      const [addrHex = '', portHex = ''] = (f[1] as string).split(':');
      if (parseInt(portHex, 16) !== target.port) continue;
      const addr = procAddrBytes(addrHex);
      const mapped = v4Mapped(addr);
      const matches = isUnspecified(addr) || target.addrs.some((a) => same(a, addr) || (mapped !== undefined && same(a, mapped)));
      if (matches) inodes.add(f[9] as string);
    }
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (err) {
    return `its open files cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; is it another user's process?)`;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1] as string)) return true;
    } catch {
      // closed while we looked
    }
  }
  return false;
}

/** Applies the three rules above, first match wins; explains a miss in one sentence. */
export async function identifyForward(input: IdentifyInput): Promise<ForwardIdentity> {
  const { pid } = input;
  const facts = processFacts(pid);
  const commandLine = displayCommandLine(facts.argv);
  const base = { commandLine, startTicks: facts.startTicks, alreadySignalled: false };
  const excluded = input.excluded?.get(pid);
  if (excluded) return { ...base, identified: false, reason: `pid ${pid} is ${excluded}` };
  const s = input.signalled;
  if (s?.pid === pid && s.startTicks !== undefined && s.startTicks === facts.startTicks) {
    return { ...base, identified: true, alreadySignalled: true, reason: 'it is the process this step already sent SIGTERM to (same start time)' };
  }
  if (isReplicatorExecutable(facts.argv)) return { ...base, identified: true, reason: `its executable is ${executableName(facts.argv)} (MOLT Replicator)` };
  const misses = [facts.argv.length > 0 ? `its executable (${executableName(facts.argv)}) is not MOLT Replicator's \`replicator\`` : 'its command line cannot be read'];
  if (!input.metricsUrl) {
    misses.push('and there is no --forward-metrics-url whose port it could be seen listening on');
  } else if (!input.metricsAnswer) {
    misses.push(`and ${input.metricsUrl} does not answer, so its listener cannot identify it`);
  } else {
    const target = await localTarget(input.metricsUrl);
    if ('why' in target) {
      misses.push(`and ${target.why}`);
    } else {
      const listens = listensOn(pid, target);
      if (listens === true) return { ...base, identified: true, reason: `it is the process listening on port ${target.port} of ${input.metricsUrl}, the forward replicator's metrics endpoint` };
      misses.push(listens === false ? `and it is not the process listening on port ${target.port} of ${input.metricsUrl}` : `and ${listens}`);
    }
  }
  return { ...base, identified: false, reason: misses.join(' ') };
}
