import { codes, type ErrorCode } from './codes.js';

/** Extra members rendered into the problem document (RFC 9457 extension members). */
export type ProblemExtras = Record<string, unknown>;

/**
 * The one error class of Ferry. It carries a stable `code` from the registry; the HTTP status and
 * title come from there, `detail` says what exactly went wrong.
 */
export class FerryError extends Error {
  override name = 'FerryError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly extras: ProblemExtras | undefined;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, detail?: string, opts: { cause?: unknown; extras?: ProblemExtras; headers?: Record<string, string> } = {}) {
    super(detail ?? codes[code].title, { cause: opts.cause });
    this.code = code;
    this.status = codes[code].status;
    this.extras = opts.extras;
    this.headers = opts.headers;
  }

  /** Maps any thrown value to a FerryError; unknown errors become `internal` (cause kept). */
  static from(err: unknown): FerryError {
    if (err instanceof FerryError) return err;
    if (err instanceof SyntaxError) return new FerryError('malformed-json', err.message, { cause: err });
    return new FerryError('internal', undefined, { cause: err });
  }
}

export function isFerryError(err: unknown): err is FerryError {
  return err instanceof FerryError;
}
