/**
 * A first reading of a V8 .cpuprofile (written by `node --cpu-prof`): self time per function and per
 * source file, so the report can name where the engine spends its CPU. The full profile stays in
 * bench/results/ for Chrome DevTools or speedscope.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  readonly name: string;
  readonly selfMs: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** Whether only the samples inside the requested time window were counted. */
  readonly windowed: boolean;
  /** Sampled time the process was busy (idle samples are left out of every figure). */
  readonly busyMs: number;
  readonly idleMs: number;
  readonly topFunctions: readonly HotSpot[];
  readonly topFiles: readonly HotSpot[];
}

/** Shortens a script URL to what identifies it: a package name or a path inside the repository. */
function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}/${rest.slice(2).join('/')}` : rest.join('/');
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * `window` (monotonic microseconds, the clock of the profile's startTime) limits the count to the
 * measured part of a phase, leaving out the engine's start-up; if no sample falls inside it (a clock
 * mismatch), the whole profile is used and `windowed` says so.
 */
export function summariseProfile(file: string, top = 15, window?: { fromUs: number; toUs: number }): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const inWindow = (t: number) => !window || (t >= window.fromUs && t <= window.toUs);
  let windowed = window !== undefined;
  if (window) {
    let t = profile.startTime;
    windowed = profile.timeDeltas.some((dt) => inWindow((t += dt)));
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByFunction = new Map<string, number>();
  const selfByFile = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  // timeDeltas[i] is the time before sample i; attribute it to the sampled node.
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (!node || dt <= 0 || (windowed && !inWindow(t))) continue;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += dt;
      continue;
    }
    totalUs += dt;
    const where = shortUrl(node.callFrame.url);
    const fn = `${node.callFrame.functionName || '(anonymous)'} ${where}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
    selfByFunction.set(fn, (selfByFunction.get(fn) ?? 0) + dt);
    const fileKey = node.callFrame.url ? where : node.callFrame.functionName || '(native)';
    selfByFile.set(fileKey, (selfByFile.get(fileKey) ?? 0) + dt);
  }
  const rank = (m: Map<string, number>): HotSpot[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Math.round((us / totalUs) * 1000) / 10 }));
  return { file, windowed, busyMs: Math.round(totalUs / 1000), idleMs: Math.round(idleUs / 1000), topFunctions: rank(selfByFunction), topFiles: rank(selfByFile) };
}
