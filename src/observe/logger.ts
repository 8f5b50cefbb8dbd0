import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The server's structured log (pino, JSON lines on stdout). Secrets must never reach it: the
 * redaction list strips credentials from anything logged by accident.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'ferry' },
      redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization', 'headers["ferry-registry-auth"]', 'password', '*.password'], censor: '[redacted]' },
    },
    destination ?? process.stdout,
  );
}
