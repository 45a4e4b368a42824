/** Step selection (--from, --to, --only) and how the CLI flags turn into a Selection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExitCode } from '../../src/lib/errors.js';
import { STEP_IDS } from '../../src/steps/config.js';
import { selectSteps } from '../../src/steps/runner.js';
import { selectionFrom } from '../../src/steps/settings.js';
import { fakeRunbook, newWorld } from '../helpers/fake-steps.js';

const steps = fakeRunbook(newWorld());
const ids = (sel: Parameters<typeof selectSteps>[1]) => selectSteps(steps, sel).map((s) => s.id);

test('no selection is the whole runbook in order', () => {
  assert.deepEqual(ids({}), [...STEP_IDS]);
});

test('--from and --to are inclusive', () => {
  assert.deepEqual(ids({ from: 'fetch-cursor' }), ['fetch-cursor', 'create-changefeed', 'monitor-changefeed']);
  assert.deepEqual(ids({ to: 'enable-rangefeeds' }), ['preflight', 'enable-rangefeeds']);
  assert.deepEqual(ids({ from: 'prepare-tls', to: 'prepare-tls' }), ['prepare-tls']);
});

test('--only keeps runbook order whatever order it is given in', () => {
  assert.deepEqual(ids({ only: ['fetch-cursor', 'preflight'] }), ['preflight', 'fetch-cursor']);
});

function usage(fn: () => unknown, code: string) {
  assert.throws(fn, (err: Error & { code?: string; exitCode?: number }) => {
    assert.equal(err.code, code);
    assert.equal(err.exitCode, ExitCode.USAGE);
    return true;
  });
}

test('bad selections are usage errors', () => {
  usage(() => ids({ only: ['nope' as never] }), 'UNKNOWN_STEP');
  usage(() => ids({ from: 'create-changefeed', to: 'preflight' }), 'BAD_SELECTION');
  usage(() => ids({ from: 'preflight', only: ['preflight'] }), 'BAD_SELECTION');
});

test('selectionFrom splits comma lists and repeated --only', () => {
  assert.deepEqual(selectionFrom({ only: ['preflight,fetch-cursor', ' prepare-tls '] }), {
    from: undefined,
    to: undefined,
    only: ['preflight', 'fetch-cursor', 'prepare-tls'],
  });
  assert.deepEqual(selectionFrom({ from: 'prepare-tls' }), { from: 'prepare-tls', to: undefined, only: undefined });
  assert.equal(selectionFrom({ only: [] }).only, undefined);
});
