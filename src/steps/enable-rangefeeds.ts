/**
 * enable-rangefeeds: changefeeds need kv.rangefeed.enabled on self-hosted clusters (it defaults to
 * false; CREATE CHANGEFEED fails with "rangefeeds require the kv.rangefeed.enabled setting" otherwise).
 * The step reads the setting and sets it only when needed. The runbook's three tuning settings are
 * applied only with --tune-rangefeeds, after showing its warning that they trade foreground SQL
 * latency and CPU for changefeed latency, and after confirmation. Values are compared after
 * normalising durations ("00:00:01" equals "1s").
 */
import { redactConn } from '../lib/conn.js';
import { AppError, ExitCode } from '../lib/errors.js';
import type { FailbackConfig } from './config.js';
import { isoNow } from './lib/common.js';
import { readClusterSetting, setClusterSetting, setClusterSettingSql, truthy, type SettingLiteral } from './lib/crdb.js';
import { durationMs, sameDuration } from './lib/durations.js';
import { asOutputs } from './lib/outputs.js';
import type { SqlSession } from './services.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

export const RANGEFEED_SETTING = 'kv.rangefeed.enabled';

export const TUNING_WARNING =
  'These settings can affect the CockroachDB cluster\'s performance and stability, especially foreground SQL latency during writes: a shorter closed-timestamp refresh interval and target duration lower changefeed latency but raise foreground write latency, and more catch-up iterators raise CPU use. Test them before production.';

interface Desired {
  name: string;
  value: SettingLiteral;
  matches(current: unknown): boolean;
}

function desired(config: FailbackConfig): Desired[] {
  const list: Desired[] = [{ name: RANGEFEED_SETTING, value: true, matches: truthy }];
  if (!config.rangefeed.tune) return list;
  const r = config.rangefeed;
  list.push(
    { name: 'kv.rangefeed.closed_timestamp_refresh_interval', value: r.closedTimestampRefreshInterval, matches: (v) => sameDuration(v, r.closedTimestampRefreshInterval) },
    { name: 'kv.closed_timestamp.target_duration', value: r.closedTimestampTargetDuration, matches: (v) => sameDuration(v, r.closedTimestampTargetDuration) },
    { name: 'kv.rangefeed.concurrent_catchup_iterators', value: r.concurrentCatchupIterators, matches: (v) => Number(v) === r.concurrentCatchupIterators },
  );
  return list;
}

interface SettingState {
  d: Desired;
  current?: unknown;
  /** Why it could not be read (unknown setting on this version, not visible to this user). */
  unreadable?: string;
  ok: boolean;
}

async function readAll(session: SqlSession, config: FailbackConfig): Promise<SettingState[]> {
  const out: SettingState[] = [];
  for (const d of desired(config)) {
    const r = await readClusterSetting(session, d.name);
    if (!r.ok) out.push({ d, unreadable: r.error, ok: false });
    else out.push({ d, current: r.value, ok: d.matches(r.value) });
  }
  return out;
}

const show = (v: unknown): string => {
  if (v !== null && typeof v === 'object') {
    const ms = durationMs(v);
    return ms === undefined ? JSON.stringify(v) : `${ms}ms`;
  }
  return String(v);
};

export const enableRangefeeds: Step = {
  id: 'enable-rangefeeds',
  title: 'Enable rangefeeds on CockroachDB',
  description:
    'Sets kv.rangefeed.enabled = true when it is not already (changefeeds need it on self-hosted clusters). With --tune-rangefeeds it also applies the runbook\'s optional latency settings, after showing their warning and asking.',

  async check(ctx): Promise<CheckResult> {
    const states = await readAll(await ctx.services.crdb(), ctx.config);
    const rf = states[0] as SettingState;
    if (rf.unreadable) {
      return {
        state: 'blocked',
        detail: `${RANGEFEED_SETTING} cannot be read: ${rf.unreadable}`,
        actions: ['Connect as a user with the VIEWCLUSTERSETTING (to read) and MODIFYCLUSTERSETTING (to set) privileges, or as admin.'],
      };
    }
    const off = states.filter((s) => !s.ok);
    if (off.length === 0) return { state: 'satisfied', detail: states.map((s) => `${s.d.name} = ${show(s.current)}`).join(', ') };
    return { state: 'pending', detail: off.map((s) => `${s.d.name} is ${s.unreadable ? 'unreadable' : show(s.current)}, wanted ${String(s.d.value)}`).join('; ') };
  },

  async apply(ctx: StepContext): Promise<void> {
    const session = await ctx.services.crdb();
    const states = await readAll(session, ctx.config);
    const changed: string[] = [];
    const rf = states[0] as SettingState;
    if (!rf.ok) {
      await setClusterSetting(session, RANGEFEED_SETTING, true);
      changed.push(RANGEFEED_SETTING);
      ctx.ui.info(`Set ${RANGEFEED_SETTING} = true.`);
    }
    const tuning = states.slice(1).filter((s) => !s.ok);
    let tuned = ctx.config.rangefeed.tune && tuning.length === 0;
    if (tuning.length > 0) {
      ctx.ui.warn(TUNING_WARNING);
      const list = tuning.map((s) => setClusterSettingSql(s.d.name, s.d.value)).join('; ');
      if (await ctx.ui.confirm(`Apply the tuning settings (${list})?`, { default: false })) {
        for (const s of tuning) {
          try {
            await setClusterSetting(session, s.d.name, s.d.value);
          } catch (err) {
            throw new AppError('SETTING_REFUSED', `CockroachDB refused ${setClusterSettingSql(s.d.name, s.d.value)}: ${(err as Error).message}`, {
              actions: [
                'Settings such as kv.rangefeed.concurrent_catchup_iterators are system-only and cannot be set from a virtual cluster or CockroachDB Cloud.',
                'Run without --tune-rangefeeds to skip the optional tuning.',
              ],
            });
          }
          changed.push(s.d.name);
        }
        tuned = true;
      } else {
        throw new AppError('DECLINED', 'The tuning settings were not applied.', { exitCode: ExitCode.DECLINED, actions: ['Run without --tune-rangefeeds to skip the optional tuning.'] });
      }
    }
    await ctx.record(asOutputs({ enabled: true, tuned, changed, at: isoNow(ctx) }));
  },

  async verify(ctx): Promise<VerifyResult> {
    const states = await readAll(await ctx.services.crdb(), ctx.config);
    const off = states.filter((s) => !s.ok);
    if (off.length > 0) {
      return { ok: false, detail: `still not as wanted: ${off.map((s) => `${s.d.name} = ${s.unreadable ? `unreadable (${s.unreadable})` : show(s.current)}`).join(', ')}` };
    }
    return { ok: true, detail: states.map((s) => `${s.d.name} = ${show(s.current)}`).join(', ') };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    const target = `CockroachDB ${redactConn(ctx.config.crdb.conn)}`;
    const actions: PlannedAction[] = [
      { kind: 'sql', target, text: `SHOW CLUSTER SETTING ${RANGEFEED_SETTING}` },
      { kind: 'sql', target, text: setClusterSettingSql(RANGEFEED_SETTING, true), when: `if ${RANGEFEED_SETTING} is false` },
    ];
    const tuning = desired(ctx.config).slice(1);
    if (tuning.length > 0) actions.push({ kind: 'prompt', target: 'user', text: 'Show the foreground-latency warning and ask before tuning', when: 'if any tuning setting differs' });
    for (const d of tuning) actions.push({ kind: 'sql', target, text: setClusterSettingSql(d.name, d.value), when: `if ${d.name} differs (--tune-rangefeeds)` });
    return actions;
  },
};
