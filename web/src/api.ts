// Every action of the page is a call of Ferry's /v1 API with the session cookie; a change
// carries the session's CSRF token, which lives in this module's memory only.

/** A problem+json answer of the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf: string | undefined;

export function setCsrf(token: string | undefined): void {
  csrf = token;
}

/** What the page does when the API says the session has ended. */
let onSignedOut: () => void = () => {};
export function whenSignedOut(f: () => void): void {
  onSignedOut = f;
}

export async function problemOf(res: Response): Promise<ApiError> {
  let code = `http-${res.status}`;
  let detail = res.statusText;
  try {
    const p = (await res.json()) as { code?: string; detail?: string; title?: string };
    code = p.code ?? code;
    detail = p.detail ?? p.title ?? detail;
  } catch {
    // Not problem+json: the status says enough.
  }
  return new ApiError(res.status, code, detail);
}

/** A request of the API; any answer but 2xx throws an ApiError. */
export async function call(method: string, path: string, init: { json?: unknown; body?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['x-csrf-token'] = csrf;
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(path, { method, headers, body: body ?? null, credentials: 'same-origin', cache: 'no-store', ...(init.signal ? { signal: init.signal } : {}) });
  if (res.ok) return res;
  const err = await problemOf(res);
  if (err.code === 'session-expired' || (err.status === 401 && path !== '/v1/auth/session')) onSignedOut();
  throw err;
}

export async function get<T>(path: string): Promise<T> {
  return (await (await call('GET', path)).json()) as T;
}

export async function send<T = unknown>(method: string, path: string, json?: unknown): Promise<T | undefined> {
  const res = await call(method, path, json === undefined ? {} : { json });
  return res.status === 204 ? undefined : ((await res.json()) as T);
}

/** Reads an NDJSON answer line by line as it arrives (logs that follow, build progress). */
export async function eachLine(res: Response, line: (value: unknown) => void): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (text) line(JSON.parse(text));
    }
  }
}

export const enc = encodeURIComponent;
