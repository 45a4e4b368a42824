/**
 * Structured logs: pino JSON lines on stderr (stdout is reserved for results and --json output).
 * Secrets are redacted by key name and by scrubbing URLs with passwords from message strings.
 */
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { redactText } from './conn.js';

export type Logger = PinoLogger;

export interface LogOptions {
  level?: LevelWithSilent;
  /** Where to write; defaults to stderr (fd 2). Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream | number;
  name?: string;
}

const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'conn',
  '*.conn',
  'targetConn',
  'stagingConn',
  'adminConn',
  'privateKey',
  '*.privateKey',
];

export function createLogger(options: LogOptions = {}): Logger {
  const dest =
    typeof options.destination === 'object'
      ? options.destination
      : pino.destination({ fd: options.destination ?? 2, sync: true });
  return pino(
    {
      name: options.name ?? 'molt-failback',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '****' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        // Driver errors sometimes quote the connection URL; scrub any password from message text.
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? redactText(a) : a));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    dest as pino.DestinationStream,
  );
}

/** A logger that drops everything (for library callers and tests that do not care). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
