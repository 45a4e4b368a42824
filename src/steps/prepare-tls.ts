/**
 * prepare-tls: the webhook must be HTTPS, and CockroachDB must trust it. With --tls-certificate and
 * --tls-private-key the step checks the given files (key matches, SAN covers the webhook host, not
 * expired, issued by --tls-ca when given); otherwise it generates a private CA, a server certificate
 * for the webhook host (plus localhost and 127.0.0.1) and a client certificate in <state>/tls/, keys
 * 0600. The changefeed later carries the CA (and the client pair) base64-then-URI-encoded in its sink
 * URI. The state records file paths and fingerprints, never key material.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AppError, ExitCode } from '../lib/errors.js';
import { isoNow } from './lib/common.js';
import { fileMode, readText, writeFileAtomic } from './lib/files.js';
import { asOutputs, ChangefeedOutputs, outputsOf, TlsOutputs } from './lib/outputs.js';
import { checkPair, generateTls, serverSans } from './lib/tls.js';
import type { CheckResult, PlannedAction, Step, StepContext, VerifyResult } from './step.js';

export const tlsDir = (stateDir: string): string => join(stateDir, 'tls');

const generatedPaths = (stateDir: string) => {
  const d = tlsDir(stateDir);
  return {
    caCert: join(d, 'ca.crt'),
    caKey: join(d, 'ca.key'),
    serverCert: join(d, 'server.crt'),
    serverKey: join(d, 'server.key'),
    clientCert: join(d, 'client.crt'),
    clientKey: join(d, 'client.key'),
  };
};

interface Evaluation {
  problems: string[];
  warnings: string[];
  outputs?: TlsOutputs;
}

/** Checks a full set of TLS files for `host`; builds the outputs to record when it is sound. */
function evaluate(files: { serverCert: string; serverKey: string; caCert?: string; caKey?: string; clientCert?: string; clientKey?: string }, host: string, mode: TlsOutputs['mode'], now: number): Evaluation {
  const problems: string[] = [];
  const warnings: string[] = [];
  const read = (p: string | undefined, what: string): string | undefined => {
    if (p === undefined) return undefined;
    const t = readText(p);
    if (t === undefined) problems.push(`${what} ${p} does not exist`);
    return t;
  };
  const serverCert = read(files.serverCert, 'server certificate');
  const serverKey = read(files.serverKey, 'server key');
  const caCert = read(files.caCert, 'CA certificate');
  const clientCert = read(files.clientCert, 'client certificate');
  const clientKey = read(files.clientKey, 'client key');
  if (problems.length > 0 || serverCert === undefined || serverKey === undefined) return { problems, warnings };
  for (const key of [files.serverKey, files.clientKey, files.caKey]) {
    const mode = key ? fileMode(key) : undefined;
    if (mode !== undefined && (mode & 0o077) !== 0) warnings.push(`${key} is readable by other users (mode ${mode.toString(8)}); chmod 600 it`);
  }
  const server = checkPair('server', serverCert, serverKey, { host, caPem: caCert, now });
  problems.push(...server.problems);
  warnings.push(...server.warnings);
  const fingerprints: Record<string, string> = {};
  if (server.facts) fingerprints.server = server.facts.fingerprint;
  if (caCert !== undefined) {
    const ca = checkPair('CA', caCert, files.caKey ? readText(files.caKey) : undefined, { now });
    problems.push(...ca.problems);
    if (ca.facts) fingerprints.ca = ca.facts.fingerprint;
  }
  if (clientCert !== undefined) {
    const client = checkPair('client', clientCert, clientKey, { caPem: caCert, now });
    problems.push(...client.problems);
    warnings.push(...client.warnings);
    if (client.facts) fingerprints.client = client.facts.fingerprint;
  }
  if (problems.length > 0 || !server.facts) return { problems, warnings };
  // A self-signed server certificate without a separate CA is its own trust anchor for CockroachDB.
  const caPath = files.caCert ?? (server.facts.selfSigned ? files.serverCert : undefined);
  if (caPath === undefined) warnings.push('No CA was given (--tls-ca): CockroachDB must already trust the server certificate\'s issuer.');
  return {
    problems,
    warnings,
    outputs: {
      mode,
      host,
      serverCert: files.serverCert,
      serverKey: files.serverKey,
      ...(caPath ? { caCert: caPath } : {}),
      ...(files.caKey ? { caKey: files.caKey } : {}),
      ...(files.clientCert ? { clientCert: files.clientCert } : {}),
      ...(files.clientKey ? { clientKey: files.clientKey } : {}),
      fingerprints,
      sans: server.facts.sans,
      notAfter: server.facts.notAfter.toISOString(),
    },
  };
}

const provided = (ctx: StepContext) => ctx.config.replicator.tlsCertificate !== undefined || ctx.config.replicator.tlsPrivateKey !== undefined;

function evaluateProvided(ctx: StepContext): Evaluation {
  const r = ctx.config.replicator;
  if (!r.tlsCertificate || !r.tlsPrivateKey) {
    return { problems: ['--tls-certificate and --tls-private-key must be given together'], warnings: [] };
  }
  return evaluate({ serverCert: resolve(r.tlsCertificate), serverKey: resolve(r.tlsPrivateKey), ...(r.tlsCa ? { caCert: resolve(r.tlsCa) } : {}) }, r.host, 'provided', ctx.services.now());
}

/** The generated set in <state>/tls, when it exists and is sound for the current host. */
function evaluateGenerated(ctx: StepContext): Evaluation {
  const p = generatedPaths(ctx.stateDir);
  if (!existsSync(p.serverCert)) return { problems: ['no certificates generated yet'], warnings: [] };
  return evaluate(p, ctx.config.replicator.host, 'generated', ctx.services.now());
}

/** A changefeed already carries the CA: replacing the certificates under it would break its TLS. */
const changefeedExists = (ctx: StepContext): boolean => outputsOf(ctx, 'create-changefeed', ChangefeedOutputs) !== undefined;

export const prepareTls: Step = {
  id: 'prepare-tls',
  title: 'Prepare TLS certificates for the webhook',
  description:
    'Uses the given webhook certificate and key (checking that the key matches, the SAN covers the webhook host and nothing is expired), or generates a CA, a server certificate for the webhook host and a client certificate in the state folder (keys 0600).',

  async check(ctx): Promise<CheckResult> {
    if (provided(ctx)) {
      const e = evaluateProvided(ctx);
      if (e.problems.length > 0) return { state: 'blocked', detail: e.problems.join('; '), actions: ['Fix the files given with --tls-certificate / --tls-private-key / --tls-ca, or leave them out to let molt-failback generate a CA and certificates.'] };
      const rec = outputsOf(ctx, 'prepare-tls', TlsOutputs);
      return rec && rec.fingerprints.server === e.outputs?.fingerprints.server && rec.mode === 'provided'
        ? { state: 'satisfied', detail: `using ${rec.serverCert} (valid until ${rec.notAfter})` }
        : { state: 'pending', detail: 'the given certificate is sound; not recorded yet' };
    }
    const e = evaluateGenerated(ctx);
    const rec = outputsOf(ctx, 'prepare-tls', TlsOutputs);
    if (e.problems.length === 0 && rec && rec.mode === 'generated' && rec.fingerprints.server === e.outputs?.fingerprints.server) {
      return { state: 'satisfied', detail: `generated certificates for ${rec.host} in ${tlsDir(ctx.stateDir)} (valid until ${rec.notAfter})` };
    }
    if (e.problems.length > 0 && existsSync(generatedPaths(ctx.stateDir).serverCert) && changefeedExists(ctx)) {
      return {
        state: 'blocked',
        detail: `the generated certificates are no longer usable (${e.problems.join('; ')}), but a changefeed already trusts them`,
        actions: ['End the current failback first (molt-failback teardown), then run again to regenerate the certificates and create a new changefeed.'],
      };
    }
    return { state: 'pending', detail: e.problems.length > 0 && rec ? e.problems.join('; ') : 'no certificates yet' };
  },

  async apply(ctx): Promise<void> {
    let e = provided(ctx) ? evaluateProvided(ctx) : evaluateGenerated(ctx);
    if (!provided(ctx) && e.problems.length > 0) {
      // Generate a fresh set; every file is written atomically, so a crash leaves old or new files, never halves.
      const host = ctx.config.replicator.host;
      ctx.ui.progress(`Generating a CA and certificates for ${serverSans(host).join(', ')}`);
      const g = await generateTls(host, { now: ctx.services.now() });
      const p = generatedPaths(ctx.stateDir);
      writeFileAtomic(p.caKey, g.ca.keyPem, 0o600);
      writeFileAtomic(p.serverKey, g.server.keyPem, 0o600);
      writeFileAtomic(p.clientKey, g.client.keyPem, 0o600);
      writeFileAtomic(p.caCert, g.ca.certPem, 0o644);
      writeFileAtomic(p.clientCert, g.client.certPem, 0o644);
      // The server certificate last: its presence is what marks a complete set.
      writeFileAtomic(p.serverCert, g.server.certPem, 0o644);
      e = evaluateGenerated(ctx);
      ctx.ui.info(`Generated a CA, a server certificate (SAN: ${serverSans(host).join(', ')}) and a client certificate in ${tlsDir(ctx.stateDir)}.`);
    }
    if (e.problems.length > 0 || !e.outputs) {
      throw new AppError('TLS_INVALID', e.problems.join('; '), { exitCode: ExitCode.FAILED, actions: ['Fix the certificate files, or leave --tls-certificate/--tls-private-key out to generate them.'] });
    }
    for (const w of e.warnings) ctx.ui.warn(w);
    await ctx.record(asOutputs({ ...e.outputs, recordedAt: isoNow(ctx) }));
  },

  async verify(ctx): Promise<VerifyResult> {
    const rec = outputsOf(ctx, 'prepare-tls', TlsOutputs);
    if (!rec) return { ok: false, detail: 'no TLS material recorded' };
    const e = evaluate(rec, ctx.config.replicator.host, rec.mode, ctx.services.now());
    if (e.problems.length > 0) return { ok: false, detail: e.problems.join('; ') };
    return { ok: true, detail: `server certificate for ${rec.sans.join(', ')} valid until ${rec.notAfter}; key matches` };
  },

  async plan(ctx): Promise<PlannedAction[]> {
    if (provided(ctx)) {
      const r = ctx.config.replicator;
      return [{ kind: 'file', target: String(r.tlsCertificate), text: `check ${r.tlsCertificate} and ${r.tlsPrivateKey}${r.tlsCa ? ` against ${r.tlsCa}` : ''} for host ${r.host} (read-only)` }];
    }
    const p = generatedPaths(ctx.stateDir);
    return [
      { kind: 'file', target: tlsDir(ctx.stateDir), text: `generate ${p.caCert}, ${p.serverCert} (SAN ${serverSans(ctx.config.replicator.host).join(', ')}), ${p.clientCert} and their keys (mode 0600)`, when: 'unless a sound set for this host exists' },
    ];
  },
};
