import { requestId as newRequestId } from '../util/ids.js';

const validRequestId = /^[A-Za-z0-9._:-]{1,128}$/;

/** The pipeline's first stage: the caller's request id when it is a sane one, else a new one. */
export function requestIdFor(given: string | undefined): string {
  return given !== undefined && validRequestId.test(given) ? given : newRequestId();
}

/** The request id of an HTTP request that is not an invocation (management, a path nobody serves). */
export function httpRequestId(header: string | string[] | undefined): string {
  return requestIdFor(Array.isArray(header) ? header[0] : header);
}
