/**
 * Sample values the way Prometheus itself reads them: prom-client (our engine's metrics library) prints
 * NaN as "Nan", and a NaN gauge (Node's event-loop percentiles before any sample) must not make a whole
 * scrape unreadable for the wizard's monitor, `status` or the sandbox.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText } from '../../src/steps/lib/prometheus.js';

test('NaN and infinities are read case-insensitively, as Prometheus does', () => {
  const samples = parsePrometheusText(['a Nan', 'b NaN', 'c nan', 'd +Inf', 'e -inf', 'f Inf', 'g 1.5e3'].join('\n'));
  const v = Object.fromEntries(samples.map((s) => [s.name, s.value]));
  assert.ok(Number.isNaN(v.a) && Number.isNaN(v.b) && Number.isNaN(v.c));
  assert.equal(v.d, Number.POSITIVE_INFINITY);
  assert.equal(v.e, Number.NEGATIVE_INFINITY);
  assert.equal(v.f, Number.POSITIVE_INFINITY);
  assert.equal(v.g, 1500);
  assert.throws(() => parsePrometheusText('h notanumber'), /is not a sample value/);
});
