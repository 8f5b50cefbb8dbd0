import type { ResponseWriter } from '../../core/index.js';
import { DelegatingWriter } from '../../pipeline/index.js';

/**
 * What a function's answer on Ferry's own origin runs under: scripts, forms and pop-ups work, but
 * the page gets an opaque origin of its own. Without it, a page any user deploys (`/fn/x`) would
 * share the dashboard's origin: its script could read the session's CSRF token from
 * `/v1/auth/session`, with the visitor's cookie, and act as that visitor.
 */
export const FUNCTION_PAGE_SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads';

/**
 * A writer whose answer carries `Content-Security-Policy: sandbox ...` beside the function's own
 * headers. It is added as a header of its own, never merged: a browser enforces every policy it
 * gets, so a policy the function sets cannot lift the sandbox.
 */
export class SandboxedPageWriter extends DelegatingWriter {
  constructor(inner: ResponseWriter) {
    super(inner);
  }

  override writeHead(status: number, headers?: Record<string, string | string[] | number> | string[]): unknown {
    const out: string[] = [];
    if (Array.isArray(headers)) out.push(...headers);
    else if (headers) for (const [name, value] of Object.entries(headers)) for (const v of Array.isArray(value) ? value : [value]) out.push(name, String(v));
    out.push('content-security-policy', FUNCTION_PAGE_SANDBOX);
    return this.inner.writeHead(status, out);
  }
  cork(): void {
    this.inner.cork?.();
  }
  uncork(): void {
    this.inner.uncork?.();
  }
}
