import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import type { ErrorCode, FerryError } from '../../errors/index.js';

/**
 * Ferry's failures as gRPC status codes: the one table (docs/protocols.md#grpc has it too). Codes
 * not named here follow their HTTP status (`byHttpStatus`). The trailers `ferry-code` and
 * `ferry-status` say exactly which failure it was (413 body-too-large and 429 both read
 * RESOURCE_EXHAUSTED).
 */
const byCode: Partial<Record<ErrorCode, Status>> = {
  'queue-full': Status.UNAVAILABLE,
  'shutting-down': Status.UNAVAILABLE,
  'instance-crashed': Status.UNAVAILABLE,
  'instance-start-failed': Status.UNAVAILABLE,
  'instance-oom': Status.RESOURCE_EXHAUSTED,
  'invoke-timeout': Status.DEADLINE_EXCEEDED,
  'function-error': Status.UNKNOWN,
  'quota-exceeded': Status.RESOURCE_EXHAUSTED,
  'internal': Status.INTERNAL,
};

const byHttpStatus: Record<number, Status> = {
  400: Status.INVALID_ARGUMENT,
  401: Status.UNAUTHENTICATED,
  403: Status.PERMISSION_DENIED,
  404: Status.NOT_FOUND,
  405: Status.UNIMPLEMENTED,
  409: Status.FAILED_PRECONDITION,
  413: Status.RESOURCE_EXHAUSTED,
  415: Status.INVALID_ARGUMENT,
  422: Status.INVALID_ARGUMENT,
  429: Status.RESOURCE_EXHAUSTED,
  500: Status.INTERNAL,
  502: Status.UNAVAILABLE,
  503: Status.UNAVAILABLE,
  504: Status.DEADLINE_EXCEEDED,
};

/** The gRPC code of a Ferry error code (and its HTTP status). */
export function grpcCodeOf(code: ErrorCode, httpStatus: number): Status {
  return byCode[code] ?? byHttpStatus[httpStatus] ?? (httpStatus >= 500 ? Status.INTERNAL : Status.INVALID_ARGUMENT);
}

/**
 * A Ferry failure as the status a call ends with: its detail as the message; its code, HTTP
 * status, the request id and its own headers (`www-authenticate`, `retry-after`) as trailers.
 */
export function failureStatus(err: FerryError, requestId: string | undefined): StatusObject {
  const trailers = new Metadata();
  trailers.set('ferry-code', err.code);
  trailers.set('ferry-status', String(err.status));
  if (requestId) trailers.set('x-request-id', requestId);
  for (const [name, value] of Object.entries(err.headers ?? {})) trailers.set(name.toLowerCase(), value);
  return { code: grpcCodeOf(err.code, err.status), details: err.message, metadata: trailers };
}

/** The most of a function's own error answer that goes into a status message. */
const MESSAGE_BYTES = 4096;

/**
 * A function's own non-2xx answer where the service has no place for a status (tinyFaaS's): the
 * call ends UNKNOWN (what tinyFaaS's own errors read as), the body's start as the message, the
 * function's status in `ferry-status` and no `ferry-code` (Ferry did not fail).
 */
/** The trailers of a function's answer: its HTTP status and the request id. */
export function answerTrailers(httpStatus: number, requestId: string): Metadata {
  const trailers = new Metadata();
  trailers.set('ferry-status', String(httpStatus));
  trailers.set('x-request-id', requestId);
  return trailers;
}

export function functionAnswerStatus(httpStatus: number, body: Buffer, requestId: string): StatusObject {
  const trailers = answerTrailers(httpStatus, requestId);
  const text = body.subarray(0, MESSAGE_BYTES).toString('utf8');
  return { code: Status.UNKNOWN, details: text || `the function answered ${httpStatus}`, metadata: trailers };
}
