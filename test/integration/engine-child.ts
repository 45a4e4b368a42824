/**
 * Child-process entry for the engine crash and signal tests: runs the `replicator start` command class
 * from source (through tsx) with the given arguments, exactly as `molt-failback replicator start` would,
 * including the exit code oclif's bin would use.
 */
import ReplicatorStart from '../../src/commands/replicator/start.js';

const root = new URL('../../', import.meta.url).pathname;
try {
  await ReplicatorStart.run(process.argv.slice(2), root);
} catch (err) {
  const code = (err as { oclif?: { exit?: number } }).oclif?.exit;
  if (typeof code === 'number') process.exit(code);
  console.error(err);
  process.exit(1);
}
