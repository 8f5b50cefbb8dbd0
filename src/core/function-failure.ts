/**
 * What a caller may learn of a failed function. A handler's thrown message, an import error or a
 * start failure can carry anything the function or the host knows (a password in a connection
 * string, a host path), so the detail of these codes goes only to callers with `read` on the
 * function, or to every caller of a version with `errors: "verbose"`. The others get the code,
 * the request id and where the detail is: the function's logs, which the shims write it to.
 */

/** Codes whose detail may hold the function's own words. */
const privateDetail: ReadonlySet<string> = new Set(['function-error', 'instance-start-failed']);

/** Whether the detail of `code` is for the function's readers only. */
export function hidesDetail(code: string): boolean {
  return privateDetail.has(code);
}

/** The detail everyone else gets in place of the real one. */
export function failureNotice(code: string, requestId: string): string {
  return code === 'instance-start-failed'
    ? `the function could not start; see its logs (request ${requestId})`
    : `the function failed; see its logs for request ${requestId}`;
}
