#!/usr/bin/env node
// A stand-in for a forward MOLT Replicator (pglogical/mylogical) in drain-forward and stop-forward tests:
// it serves Prometheus text on /_/varz whose apply counters rise for --activeMs and then settle, and it
// handles SIGTERM like MOLT Replicator (finish, then exit 0), optionally slowly or not at all.
// Usage: node fake-forward-replicator.mjs [--port 0] [--activeMs 1500] [--termDelayMs 0] [--ignoreTerm]
// Prints "listening <port>" on stdout once the endpoint answers, and "sigterm" for every SIGTERM received.
// test/helpers/forward-process.ts starts it with argv[0] "replicator" (like MOLT Replicator's binary), so
// stop-forward can tell it from an unrelated process that happens to have the configured pid.
import { createServer } from 'node:http';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const activeMs = Number(arg('activeMs', '1500'));
const termDelayMs = Number(arg('termDelayMs', '0'));
const ignoreTerm = process.argv.includes('--ignoreTerm');
const started = Date.now();

// Counters grow by 50 rows per 100ms while active: one schema with two tables, upserts and deletes.
function rows(base) {
  const activeFor = Math.min(Date.now() - started, activeMs);
  return base + Math.floor(activeFor / 100) * 50;
}

const server = createServer((req, res) => {
  if (req.url !== '/_/varz') {
    res.writeHead(404).end('404 page not found\n');
    return;
  }
  const s = 'schema="migration_db.public"';
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  res.end(
    [
      '# TYPE apply_upserts_total counter',
      `apply_upserts_total{${s},table="employees"} ${rows(1000)}`,
      `apply_upserts_total{${s},table="orders"} ${rows(10)}`,
      '# TYPE apply_deletes_total counter',
      `apply_deletes_total{${s},table="employees"} ${Math.floor(rows(0) / 10)}`,
      '# TYPE core_source_lag_seconds gauge',
      'core_source_lag_seconds 0.2',
      '',
    ].join('\n'),
  );
});

process.on('SIGTERM', () => {
  process.stdout.write('sigterm\n');
  if (ignoreTerm) return;
  setTimeout(() => server.close(() => process.exit(0)), termDelayMs);
});

server.listen(Number(arg('port', '0')), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
