// The emulator authenticates to its backend with SCRAM-SHA-256 and md5 (trust and cleartext are
// covered in crdb-emulator.test.ts). The shared PostgreSQL uses trust, so this file starts a
// throwaway PostgreSQL cluster (initdb + pg_ctl, about two seconds) that demands passwords.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, appendFile, readFile, writeFile, rm, chown } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { startCrdbEmulator } from '../../src/sandbox/crdb/index.js';

const run = promisify(execFile);
const PG_BIN = (() => {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort().reverse() : [];
  return versions.length ? join(base, versions[0] as string, 'bin') : '';
})();
let dir = '';
let port = 0;
const asPostgres = (cmd: string, args: string[]) =>
  process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);

before(async () => {
  assert.ok(PG_BIN && existsSync(join(PG_BIN, 'initdb')), 'PostgreSQL server binaries (initdb, pg_ctl) are needed: apt-get install -y postgresql');
  dir = await mkdtemp(join(tmpdir(), 'crdb-backend-auth-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  port = await new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const data = join(dir, 'data');
  await asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8']);
  // md5 for one role, SCRAM for everything else (the first matching line wins).
  const hba = join(data, 'pg_hba.conf');
  await writeFile(hba, `host all md5user 127.0.0.1/32 md5\n${await readFile(hba, 'utf8')}`);
  await appendFile(join(data, 'postgresql.conf'), `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\n`);
  await asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', 'start']);
  const admin = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query("ALTER USER postgres PASSWORD 'scr am!'");
  await admin.query("SET password_encryption = 'md5'");
  await admin.query("CREATE USER md5user PASSWORD 'md5 pw' SUPERUSER");
  await admin.end();
});

after(async () => {
  if (dir && existsSync(join(dir, 'data', 'postmaster.pid'))) await asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', 'stop']).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

for (const [method, user, password] of [
  ['SCRAM-SHA-256', 'postgres', 'scr am!'],
  ['md5', 'md5user', 'md5 pw'],
] as const) {
  test(`backend authentication with ${method}`, async () => {
    const emu = await startCrdbEmulator({ backend: { url: `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` } });
    try {
      const c = new pg.Client({ connectionString: emu.url });
      await c.connect();
      assert.equal((await c.query('SELECT current_user AS u')).rows[0].u, user);
      await c.end();
    } finally {
      await emu.stop();
    }
  });
}

test('a wrong backend password fails start-up with a clear message and no secret', async () => {
  await assert.rejects(
    startCrdbEmulator({ backend: { url: `postgres://postgres:wrong-pw@127.0.0.1:${port}/postgres` } }),
    (err: Error) => /cannot prepare its backend at postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1/.test(err.message) && /password authentication failed/.test(err.message) && !err.message.includes('wrong-pw'),
  );
});
