/**
 * The SIMULATED forward replicator, run as its own process by the sandbox: the process the runbook's
 * drain-forward and stop-forward steps act on. It replicates nothing. It serves Prometheus text on
 * /_/varz (127.0.0.1, a free port) whose apply counters rise for --active-ms and then settle, the way a
 * MOLT forward replicator's do once the application stops writing to the source, and it exits 0 on
 * SIGTERM as MOLT Replicator does. It also exits when its parent goes away, so a sandbox that was
 * killed outright leaves no stray process. Prints {"port":N} on stdout once it listens.
 * Usage: node process.js --active-ms 2000 --rows-per-second 400 --schema defaultdb.public --tables a,b
 */
import { createServer } from 'node:http';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const activeMs = Number(arg('active-ms', '2000'));
const rate = Number(arg('rows-per-second', '400'));
const schema = arg('schema', 'defaultdb.public');
const tables = arg('tables', 'employees').split(',');
const started = Date.now();
// What `ps` (and the stop-forward step's message) shows for this process.
process.title = 'molt-failback-sandbox SIMULATED forward replicator';
const parent = process.ppid;

/** Rows "applied" so far for a table: they grow while active, then stay put. */
function applied(share: number): number {
  const activeFor = Math.min(Date.now() - started, activeMs);
  return Math.floor(((activeFor / 1000) * rate * share) / tables.length);
}

const server = createServer((req, res) => {
  if (req.url !== '/_/varz') {
    res.writeHead(404).end('404 page not found\n');
    return;
  }
  const label = (t: string) => `schema="${schema}",table="${t}"`;
  const lines = [
    '# molt-failback sandbox: SIMULATED forward replicator (source -> CockroachDB); it replicates nothing.',
    '# TYPE apply_upserts_total counter',
    ...tables.map((t) => `apply_upserts_total{${label(t)}} ${applied(0.9)}`),
    '# TYPE apply_deletes_total counter',
    ...tables.map((t) => `apply_deletes_total{${label(t)}} ${applied(0.1)}`),
    '# TYPE core_source_lag_seconds gauge',
    `core_source_lag_seconds{schema="${schema}"} ${Date.now() - started < activeMs ? 0.4 : 0}`,
    '',
  ];
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  res.end(lines.join('\n'));
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Orphaned (the sandbox died without cleaning up): nobody will ever signal us, so leave.
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1000).unref();

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
