/**
 * `run` in a real pseudo-terminal, answered like a person would: the wizard asks for the values that
 * flags, env and the config file did not give (connection strings masked), shows the plan, asks to
 * proceed, draws the listr task list, pauses it for a step's own confirmation, and finishes. Also:
 * Ctrl-C at a prompt exits 130. Every wait is bounded and fails with the screen's content.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtySession } from '../helpers/pty.js';
import { PG_ADMIN_URL } from '../helpers/databases.js';

const SECRET = 'typed-Secret-9';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'mf-pty-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('prompts for missing values, confirms the plan, pauses the task list for a step prompt, and completes', async () => {
  const state = join(dir, 'wizard', 'state.json');
  const crdb = `postgres://root:${SECRET}@127.0.0.1:1/defaultdb`;
  const target = new URL(PG_ADMIN_URL);
  target.password = SECRET;
  const pty = new PtySession(['run', '--only', 'prepare-tls,drain-forward', '--state', state], { cwd: dir, cols: 110, rows: 40 });
  try {
    let at = await pty.waitFor('CockroachDB connection string');
    pty.write(`${crdb}\r`);
    at = await pty.waitFor('Tables to fail back', 30_000, at);
    pty.write('employees, payments\r');
    at = await pty.waitFor('Target connection string', 30_000, at);
    pty.write(`${target.toString()}\r`);
    at = await pty.waitFor(/Plan \(2 steps/, 30_000, at);
    at = await pty.waitFor('Proceed with 2 steps?', 30_000, at);
    pty.write('y\r');
    // drain-forward without a metrics URL asks the user to confirm the drain from the logs: the live
    // task list must step aside for the prompt and come back after it.
    at = await pty.waitFor('Have you confirmed from its logs', 60_000, at);
    pty.write('y\r');
    await pty.waitFor(/Summary:[\s\S]*done\s+prepare-tls[\s\S]*done\s+drain-forward/, 60_000, at);
    const code = await pty.exit(30_000);
    assert.equal(code, 0, pty.text);
  } finally {
    pty.kill();
  }
  const screen = pty.rawOutput;
  assert.ok(!screen.includes(SECRET), 'typed secrets are masked, and never echoed back');
  assert.match(pty.text, /✔ .*Prepare|Prepare.*\(done\)/i, 'the listr task list was drawn');
  const saved = JSON.parse(readFileSync(state, 'utf8')) as { steps: Record<string, { status: string }>; subject: { crdb: string } };
  assert.equal(saved.steps['prepare-tls']?.status, 'verified');
  assert.equal(saved.steps['drain-forward']?.status, 'verified');
  assert.ok(!JSON.stringify(saved).includes(SECRET), 'no secret in the state file');
  assert.match(saved.subject.crdb, /root:\*\*\*\*@/);
});

test('declining the plan changes nothing (exit 7); Ctrl-C at a prompt exits 130', async () => {
  const state = join(dir, 'decline', 'state.json');
  const env = { MOLT_FAILBACK_CRDB_CONN: 'postgres://root@127.0.0.1:1/defaultdb', MOLT_FAILBACK_TARGET_CONN: PG_ADMIN_URL, MOLT_FAILBACK_TABLES: 'employees' };
  const declined = new PtySession(['run', '--only', 'prepare-tls', '--state', state], { cwd: dir, env });
  try {
    await declined.waitFor('Proceed with 1 step?');
    declined.write('n\r');
    assert.equal(await declined.exit(30_000), 7, declined.text);
  } finally {
    declined.kill();
  }
  assert.match(declined.text, /DECLINED/);
  assert.equal(existsSync(state), false);

  const interrupted = new PtySession(['run', '--state', state], { cwd: dir });
  try {
    await interrupted.waitFor('CockroachDB connection string');
    interrupted.write('\x03');
    assert.equal(await interrupted.exit(30_000), 130, interrupted.text);
  } finally {
    interrupted.kill();
  }
  assert.match(interrupted.text, /INTERRUPTED/);
});
