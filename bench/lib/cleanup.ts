/**
 * Everything the bench creates (engine processes, databases, connections) registers an undo here, so
 * that a normal end, a thrown error and Ctrl-C all leave the shared machine as they found it. Undos run
 * newest first (stop the engine before dropping the databases it holds open).
 */

type Undo = () => Promise<void> | void;

interface Entry {
  readonly label: string;
  readonly undo: Undo;
  /** A last-resort synchronous action for process 'exit' (e.g. SIGKILL a child). */
  readonly onExit?: () => void;
}

const entries: Entry[] = [];
let running: Promise<void> | undefined;

/** Registers an undo; the returned function runs it now and removes it from the stack. */
export function defer(label: string, undo: Undo, onExit?: () => void): () => Promise<void> {
  const entry: Entry = { label, undo, onExit };
  entries.push(entry);
  return async () => {
    const i = entries.indexOf(entry);
    if (i < 0) return;
    entries.splice(i, 1);
    await undo();
  };
}

/** Runs every registered undo once, newest first; failures are reported and do not stop the others. */
export function cleanupAll(): Promise<void> {
  running ??= (async () => {
    while (entries.length > 0) {
      const entry = entries.pop()!;
      try {
        await entry.undo();
      } catch (err) {
        process.stderr.write(`bench: cleanup "${entry.label}" failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return running;
}

/**
 * Ctrl-C and SIGTERM clean up and exit 130/143; a second signal exits at once (the 'exit' hook still
 * SIGKILLs children). The terminal also delivers SIGINT to the engine (same process group): that is
 * fine, it shuts down on its own and the undo then finds it gone.
 */
export function installSignalHandlers(): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    if (signalled) process.exit(code);
    signalled = true;
    process.stderr.write(`\nbench: ${signal}, cleaning up (again to force)...\n`);
    void cleanupAll().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => onSignal('SIGINT', 130));
  process.on('SIGTERM', () => onSignal('SIGTERM', 143));
  process.on('exit', () => {
    for (const e of entries) e.onExit?.();
  });
}
