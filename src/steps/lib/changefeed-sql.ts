/**
 * Builds the exact CREATE CHANGEFEED statement of the runbook (facts §0 step 7) from the config, with
 * two forms: the real one (certificates, key and bearer token inlined) and a redacted one for plans and
 * messages. Option values are SQL string literals; `updated` and other flag options have no value.
 */
import type { FailbackConfig } from '../config.js';
import { quoteLiteral, quoteQualified } from './sql.js';
import { buildSinkUri, type SinkLocation, type SinkTls } from './sink-uri.js';

export interface ChangefeedInputs {
  /** Source tables as catalog name parts, e.g. [["public","employees"]]. */
  tables: readonly (readonly string[])[];
  sink: SinkLocation;
  tls: SinkTls;
  cursor: string;
  /** Bearer token for the engine (sent as webhook_auth_header). */
  token?: string;
}

export type ChangefeedOption = readonly [name: string, value: string | null];

/** The WITH options in the runbook's order, then webhook_auth_header, then the configured extras. */
export function changefeedOptions(config: FailbackConfig, cursor: string, token: string | undefined, redact: boolean): ChangefeedOption[] {
  const c = config.changefeed;
  const opts: ChangefeedOption[] = [
    ['updated', null],
    ['resolved', c.resolved],
    ['min_checkpoint_frequency', c.minCheckpointFrequency],
    ['initial_scan', c.initialScan],
    ['cursor', cursor],
    ['webhook_sink_config', c.webhookSinkConfig],
    ['webhook_client_timeout', c.webhookClientTimeout],
  ];
  if (token !== undefined) opts.push(['webhook_auth_header', `Bearer ${redact ? '****' : token}`]);
  const taken = new Set(opts.map(([n]) => n));
  for (const [name, value] of Object.entries(c.extraOptions)) {
    if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`changefeed option name "${name}" is not a plain identifier`);
    if (taken.has(name.toLowerCase())) {
      // An extra option overrides the runbook default of the same name instead of repeating it.
      const i = opts.findIndex(([n]) => n === name.toLowerCase());
      opts[i] = [name.toLowerCase(), value];
      continue;
    }
    opts.push([name.toLowerCase(), value]);
  }
  return opts;
}

export function renderOptions(opts: readonly ChangefeedOption[]): string {
  return opts.map(([n, v]) => (v === null ? n : `${n} = ${quoteLiteral(v)}`)).join(', ');
}

/** The statement; `redact` replaces certificate parameters and the token with ****. */
export function createChangefeedSql(config: FailbackConfig, inputs: ChangefeedInputs, options: { redact?: boolean } = {}): string {
  const redact = options.redact ?? false;
  const tables = inputs.tables.map((t) => quoteQualified(t)).join(', ');
  const uri = buildSinkUri(inputs.sink, inputs.tls, { redact });
  const opts = changefeedOptions(config, inputs.cursor, inputs.token, redact);
  return `CREATE CHANGEFEED FOR TABLE ${tables} INTO ${quoteLiteral(uri)} WITH ${renderOptions(opts)}`;
}
