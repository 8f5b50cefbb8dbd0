/**
 * Errors the CLI reports as one line: `ferry: <message> (<code>)`. `ApiError` carries the
 * server's problem+json `detail` and `code`; `CliError` is a local failure (bad argument, missing
 * file, unreachable server).
 */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: string | undefined;
  readonly exitCode: number;

  constructor(message: string, opts: { code?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.code = opts.code;
    this.exitCode = opts.exitCode ?? 1;
  }
}

export class ApiError extends CliError {
  override name = 'ApiError';
  readonly status: number;
  /** The parsed problem document, when the server sent one. */
  readonly problem: Record<string, unknown> | undefined;

  constructor(status: number, message: string, code: string | undefined, problem?: Record<string, unknown>) {
    super(message, code === undefined ? {} : { code });
    this.status = status;
    this.problem = problem;
  }
}

/** A usage mistake (bad flag value, bad argument): exit code 2 like commander's own. */
export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: 2 });
}

/** The one line printed for `err` (without the `ferry: ` prefix). */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const msg = err.message || err.name;
    // FerryError (from shared validation helpers), CliError, ApiError and Node system errors all
    // carry a string code; Node puts it into the message already (`ENOENT: no such file ...`).
    if (typeof code === 'string' && code && !msg.includes(code)) return `${msg} (${code})`;
    return msg;
  }
  return String(err);
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : 1;
}

/** The exit status of a command `ferry run` ran on the server: passed on, nothing printed. */
export class CommandExit extends CliError {
  override name = 'CommandExit';

  constructor(exitCode: number) {
    super('', { exitCode });
  }
}
