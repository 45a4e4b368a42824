/**
 * Drives the built CLI through a real pseudo-terminal, as a person would: python3's pty module forks
 * the CLI on a pty with a fixed window size (so listr draws its task list, not one character per line)
 * and relays bytes; the test waits for prompt text and types answers. Every wait is bounded.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN, ROOT, assertBuilt, cleanEnv } from './cli.js';

// The window size is set on the child's side of the pty before exec, so the CLI never sees 0 columns.
const RELAY = String.raw`
import fcntl, os, pty, select, struct, sys, termios
cols, rows = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(argv[0], argv)
stdin_open = True
while True:
    fds = [fd] + ([0] if stdin_open else [])
    r, _, _ = select.select(fds, [], [])
    if fd in r:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if not data:
            stdin_open = False
        else:
            os.write(fd, data)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r/g;
export const stripAnsi = (s: string): string => s.replace(ANSI, '');

export interface PtyOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  cols?: number;
  rows?: number;
  /** Run this program (for example a shell) on the pty instead of the built CLI with `args`. */
  command?: readonly string[];
}

export class PtySession {
  private raw = '';
  private readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(args: readonly string[], options: PtyOptions = {}) {
    assertBuilt();
    const env = cleanEnv({ TERM: 'xterm-256color', ...options.env });
    const argv = options.command ?? [process.execPath, BIN, ...args];
    this.child = spawn('python3', ['-c', RELAY, String(options.cols ?? 120), String(options.rows ?? 40), ...argv], {
      cwd: options.cwd ?? ROOT,
      env,
    });
    const onData = (d: Buffer) => {
      this.raw += d.toString();
      for (const w of this.waiters.splice(0)) w();
    };
    this.child.stdout.on('data', onData);
    this.child.stderr.on('data', onData);
    this.exited = new Promise((resolve) => this.child.once('close', (code) => {
      for (const w of this.waiters.splice(0)) w();
      resolve(code);
    }));
  }

  /** Everything the terminal showed so far, without escape sequences. */
  get text(): string {
    return stripAnsi(this.raw);
  }

  get rawOutput(): string {
    return this.raw;
  }

  /** Waits until the screen text (after `from` characters) matches; fails with the screen after the deadline. */
  async waitFor(pattern: RegExp | string, timeoutMs = 60_000, from = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.text.slice(from);
      const idx = typeof pattern === 'string' ? text.indexOf(pattern) : text.search(pattern);
      if (idx >= 0) return from + idx;
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) {
        throw new Error(`timed out waiting for ${String(pattern)}; the screen shows:\n${this.text}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Types text (use "\r" for Enter). */
  write(data: string): void {
    this.child.stdin.write(data);
  }

  /** Waits for the CLI to exit; kills it after the deadline. */
  async exit(timeoutMs = 60_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

export { ROOT };
