/**
 * prepare-tls with real files in a state folder and a real TLS handshake: generated material (CA,
 * server certificate for the webhook host, client certificate), provided material (checked, never
 * rewritten), and what the state may hold (paths and fingerprints, never a key).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { Agent } from 'undici';
import { silentLogger } from '../../../src/lib/log.js';
import { sinkUriFor } from '../../../src/steps/observe.js';
import { prepareTls } from '../../../src/steps/prepare-tls.js';
import { createServices } from '../../../src/steps/services-impl.js';
import { TlsOutputs } from '../../../src/steps/lib/outputs.js';
import { generateTls } from '../../../src/steps/lib/tls.js';
import { assertRunOk, testConfig, TestBed } from '../../helpers/step-harness.js';
import type { FailbackConfig } from '../../../src/steps/config.js';

const beds: TestBed[] = [];
const dirs: string[] = [];
after(async () => {
  for (const b of beds) await b.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function bed(replicator: Partial<FailbackConfig['replicator']> = {}, stateDir?: string): TestBed {
  const config = testConfig({ replicator: { host: 'replicator-host', ...replicator } });
  const b = new TestBed({ config, services: createServices(config, silentLogger()), stateDir });
  beds.push(b);
  return b;
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'molt-failback-tls-'));
  dirs.push(d);
  return d;
}

describe('prepare-tls (generated)', () => {
  it('generates a CA, a server certificate for the host and a client certificate; keys 0600; no key in state', async () => {
    const b = bed();
    assert.equal((await prepareTls.check(b.ctx(prepareTls))).state, 'pending');
    await prepareTls.apply(b.ctx(prepareTls));
    const out = TlsOutputs.parse(b.outputs('prepare-tls'));
    assert.equal(out.mode, 'generated');
    assert.deepEqual(out.sans, ['replicator-host', 'localhost', '127.0.0.1']);
    for (const k of [out.serverKey, out.clientKey as string, out.caKey as string]) assert.equal(statSync(k).mode & 0o777, 0o600, k);
    assert.doesNotMatch(JSON.stringify(b.state()), /BEGIN|PRIVATE KEY/);
    assert.match(out.fingerprints.server as string, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal((await prepareTls.check(b.ctx(prepareTls))).state, 'satisfied');
    assert.equal((await prepareTls.verify(b.ctx(prepareTls))).ok, true);
    // Twice equals once: the sound set on disk is kept, not regenerated.
    await prepareTls.apply(b.ctx(prepareTls));
    assert.deepEqual(TlsOutputs.parse(b.outputs('prepare-tls')).fingerprints, out.fingerprints);
  });

  it('serves a real TLS handshake for the webhook host, verified with the CA, with the client certificate', async () => {
    const b = bed();
    await prepareTls.apply(b.ctx(prepareTls));
    const out = TlsOutputs.parse(b.outputs('prepare-tls'));
    const server = createServer({ cert: readFileSync(out.serverCert), key: readFileSync(out.serverKey), ca: readFileSync(out.caCert as string), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      res.end(`client ${(req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const agent = new Agent({ connect: { ca: readFileSync(out.caCert as string), cert: readFileSync(out.clientCert as string), key: readFileSync(out.clientKey as string), servername: 'replicator-host' } });
    try {
      const res = await request(`https://127.0.0.1:${port}/`, { dispatcher: agent });
      assert.equal(await res.body.text(), 'client molt-failback changefeed client');
    } finally {
      await agent.close();
      await new Promise((r) => server.close(r));
    }
    // The sink URI carries exactly these files, base64 then URI encoded.
    const uri = sinkUriFor(b.config, out);
    const ca = /ca_cert=([^&]+)/.exec(uri)?.[1] as string;
    assert.equal(Buffer.from(decodeURIComponent(ca), 'base64').toString(), readFileSync(out.caCert as string, 'utf8'));
    assert.match(sinkUriFor(b.config, out, { redact: true }), /client_key=\*\*\*\*/);
  });

  it('a crash before the state write converges: the Runner adopts the files on disk', async () => {
    const b = bed();
    await prepareTls.apply(b.ctx(prepareTls, { discardRecords: true }));
    const onDisk = readFileSync(join(b.stateDir, 'tls', 'server.crt'), 'utf8');
    assertRunOk(await b.run([prepareTls]));
    assert.equal(readFileSync(join(b.stateDir, 'tls', 'server.crt'), 'utf8'), onDisk, 'not regenerated');
  });

  it('regenerates for a new host, but not under an existing changefeed', async () => {
    const first = bed();
    await prepareTls.apply(first.ctx(prepareTls));
    const moved = bed({ host: 'other-host' }, first.stateDir);
    moved.setOutputs('prepare-tls', first.outputs('prepare-tls'));
    assert.equal((await prepareTls.check(moved.ctx(prepareTls))).state, 'pending');
    moved.setOutputs('create-changefeed', { jobId: '1', createdAt: 'x', sink: 'x', cursor: '1.0', tables: [], adopted: false });
    const c = await prepareTls.check(moved.ctx(prepareTls));
    assert.equal(c.state, 'blocked');
    assert.match(c.detail, /does not cover the webhook host "other-host"/);
  });
});

describe('prepare-tls (provided)', () => {
  async function files(host: string, options: { now?: number; leafDays?: number } = {}) {
    const g = await generateTls(host, options);
    const d = tmp();
    const p = { cert: join(d, 'server.crt'), key: join(d, 'server.key'), ca: join(d, 'ca.crt'), otherKey: join(d, 'other.key') };
    writeFileSync(p.cert, g.server.certPem);
    writeFileSync(p.key, g.server.keyPem, { mode: 0o600 });
    writeFileSync(p.ca, g.ca.certPem);
    writeFileSync(p.otherKey, g.client.keyPem, { mode: 0o600 });
    return p;
  }

  it('checks and records the given files without touching them', async () => {
    const p = await files('replicator-host');
    const b = bed({ tlsCertificate: p.cert, tlsPrivateKey: p.key, tlsCa: p.ca });
    assert.equal((await prepareTls.check(b.ctx(prepareTls))).state, 'pending');
    assertRunOk(await b.run([prepareTls]));
    const out = TlsOutputs.parse(b.outputs('prepare-tls'));
    assert.equal(out.mode, 'provided');
    assert.equal(out.serverCert, p.cert);
    assert.equal(out.caCert, p.ca);
    assert.equal(out.clientCert, undefined);
    assert.equal((await prepareTls.check(b.ctx(prepareTls))).state, 'satisfied');
  });

  it('blocks on a key that does not match, a host the SAN misses, or an expired certificate', async () => {
    const p = await files('replicator-host');
    const wrongKey = await prepareTls.check(bed({ tlsCertificate: p.cert, tlsPrivateKey: p.otherKey, tlsCa: p.ca }).ctx(prepareTls));
    assert.equal(wrongKey.state, 'blocked');
    assert.match(wrongKey.detail, /key does not match/);
    const wrongHost = await prepareTls.check(bed({ host: 'elsewhere.example', tlsCertificate: p.cert, tlsPrivateKey: p.key }).ctx(prepareTls));
    assert.match(wrongHost.detail, /does not cover the webhook host "elsewhere\.example"/);
    const old = await files('replicator-host', { now: Date.now() - 10 * 86_400_000, leafDays: 2 });
    const expired = await prepareTls.check(bed({ tlsCertificate: old.cert, tlsPrivateKey: old.key, tlsCa: old.ca }).ctx(prepareTls));
    assert.match(expired.detail, /expired/);
    const half = await prepareTls.check(bed({ tlsCertificate: p.cert }).ctx(prepareTls));
    assert.match(half.detail, /must be given together/);
  });

  it('blocks on a certificate that names the host only in its Common Name (Go ignores it)', async () => {
    const d = tmp();
    const cert = join(d, 'cn-only.crt');
    const key = join(d, 'cn-only.key');
    // openssl req -x509 adds no subjectAltName unless asked to.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=replicator-host', '-days', '2', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const r = await prepareTls.check(bed({ tlsCertificate: cert, tlsPrivateKey: key }).ctx(prepareTls));
    assert.equal(r.state, 'blocked');
    assert.match(r.detail, /has no subjectAltName.*CN=replicator-host.*DNS:replicator-host/);
  });
});
