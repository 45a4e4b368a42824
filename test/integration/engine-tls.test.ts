/**
 * Transport and access: --tlsSelfSigned (a certificate valid for 127.0.0.1 and localhost), mutual TLS
 * with --tlsClientCa, plain HTTP's warning on /_/healthz, /_/diag and /_/varz on the main port when no
 * --metricsAddr is given (diag then needs the token), and token rotation (what SIGHUP triggers).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { createPgDatabase, type TestDatabase } from '../helpers/databases.js';
import { get, httpsAgent, makeTls, post, startTestEngine, tempDir, tokenFile, type RunningEngine } from './engine-support.js';

let staging: TestDatabase;
let target: TestDatabase;
let dir: string;
const engines: RunningEngine[] = [];

before(async () => {
  staging = await createPgDatabase('engine_tls_stg');
  target = await createPgDatabase('engine_tls_tgt');
  dir = tempDir('engine-tls');
});

after(async () => {
  for (const e of engines) await e.stop();
  await target?.drop();
  await staging?.drop();
});

const base = (schema: string) => ({ targetConn: target.url, stagingConn: staging.url, stagingSchema: `${staging.name}.${schema}`, stagingCreateSchema: true });
const empty = '{"payload":[],"length":0}';

function peerCertificate(url: string): Promise<X509Certificate> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      const raw = s.getPeerX509Certificate();
      s.end();
      if (raw) resolve(raw);
      else reject(new Error('no certificate'));
    });
    s.on('error', reject);
  });
}

test('--tlsSelfSigned serves HTTPS with a sha256 certificate for 127.0.0.1 and localhost', async () => {
  const e = await startTestEngine({ ...base('selfsigned'), tlsSelfSigned: true, disableAuthentication: true });
  engines.push(e);
  assert.match(e.engine.webhookUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  const cert = await peerCertificate(e.engine.webhookUrl);
  assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
  assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  const agent = httpsAgent(cert.toString());
  const r = await post(e.engine.webhookUrl, `/${target.name}/public`, empty, { agent });
  assert.equal(r.status, 200);
  await agent.close();
  const h = await get(e.engine.healthUrl);
  assert.equal(h.status, 200);
  assert.match(h.body, /^OK\nwarning: authentication is disabled/);
});

test('--tlsClientCa requires a client certificate signed by that CA', async () => {
  const m = await makeTls(dir);
  const { file, token } = tokenFile(dir);
  const e = await startTestEngine({ ...base('mtls'), tlsCertificate: m.certFile, tlsPrivateKey: m.keyFile, tlsClientCa: m.caFile, authTokenFile: file });
  engines.push(e);
  const without = httpsAgent(m.ca);
  await assert.rejects(post(e.engine.webhookUrl, `/${target.name}/public`, empty, { agent: without, token }));
  await without.close();
  const withCert = httpsAgent(m.ca, { cert: m.clientCert, key: m.clientKey });
  const r = await post(e.engine.webhookUrl, `/${target.name}/public`, empty, { agent: withCert, token });
  assert.equal(r.status, 200);
  await withCert.close();
  const d = JSON.parse((await get(e.engine.diagUrl)).body) as { tls: string; mutualTls: boolean };
  assert.equal(d.tls, 'certificate');
  assert.equal(d.mutualTls, true);
});

test('plain HTTP: loud warning on /_/healthz; without --metricsAddr varz and diag share the main port, diag behind the token; tokens rotate', async () => {
  const { file, token } = tokenFile(dir);
  const e = await startTestEngine({ ...base('plain'), authTokenFile: file, metricsAddr: undefined, fingerprint: 'fp-123' });
  engines.push(e);
  assert.match(e.engine.webhookUrl, /^http:\/\//);
  assert.equal(new URL(e.engine.metricsUrl).port, String(e.engine.port));
  const h = await get(e.engine.healthUrl);
  assert.equal(h.status, 200);
  assert.match(h.body, /warning: serving plain HTTP without TLS/);
  assert.match(String(h.headers['x-molt-failback-warning']), /plain HTTP/);
  assert.equal((await get(e.engine.metricsUrl)).status, 200);
  assert.equal((await get(e.engine.diagUrl)).status, 401);
  const d = await get(e.engine.diagUrl, { token });
  assert.equal(d.status, 200);
  const diag = JSON.parse(d.body) as Record<string, unknown>;
  assert.equal(diag.fingerprint, 'fp-123');
  assert.equal(diag.auth, 'token-file');
  assert.doesNotMatch(d.body, new RegExp(token));
  assert.equal((await get(`${e.engine.webhookUrl}/_/nothing`)).status, 404);

  // Rotation: a new file content is picked up on reload (SIGHUP in the command).
  const next = 'rotated-token-value';
  writeFileSync(file, `${next}\n`);
  assert.equal((await post(e.engine.webhookUrl, `/${target.name}/public`, empty, { token: next })).status, 401, 'not before the reload');
  e.engine.reloadTokens();
  assert.equal((await post(e.engine.webhookUrl, `/${target.name}/public`, empty, { token: next })).status, 200);
  assert.equal((await post(e.engine.webhookUrl, `/${target.name}/public`, empty, { token })).status, 401);
});
