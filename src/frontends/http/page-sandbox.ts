/**
 * What a function's answer on Ferry's own origin runs under: scripts, forms and pop-ups work, but
 * the page gets an opaque origin of its own. Without it, a page any user deploys (`/fn/x`) would
 * share the dashboard's origin: its script could read the session's CSRF token from
 * `/v1/auth/session`, with the visitor's cookie, and act as that visitor.
 */
export const FUNCTION_PAGE_SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads';

/**
 * The header that puts it on an answer. It is a header of its own, never merged with the
 * function's: a browser enforces every policy it gets, so a policy the function sets cannot lift
 * the sandbox.
 */
export const PAGE_SANDBOX_HEADERS: readonly string[] = Object.freeze(['content-security-policy', FUNCTION_PAGE_SANDBOX]);
