import { Readable } from 'node:stream';
import type { DeployTarget, Invocation, ResponseWriter } from '../core/index.js';
import { acceptedAnswer, asyncOptions, readBody, storedRequest, type Executions } from '../service/index.js';

/**
 * The async stage (`Prefer: respond-async`, `X-tinyFaaS-Async`, or any front end's own way of
 * asking): checks the callback and key, reads the whole body (capped), stores the request and
 * answers 202 with the execution's location, only once the store has committed it.
 */
export async function acceptAsync(executions: Executions, inv: Invocation, writer: ResponseWriter, target: DeployTarget, o: { public: boolean; maxBodyBytes: number }): Promise<void> {
  const opts = asyncOptions(inv.headers, executions.policy);
  const body = await readBody(inv.body ?? Readable.from([]), o.maxBodyBytes);
  const out = await executions.submit({ target, public: o.public, request: storedRequest(inv.method, inv.path, inv.headers, body), ...opts });
  const answer = acceptedAnswer(out, askedRespondAsync(inv.headers));
  const text = JSON.stringify(answer.body);
  writer.writeHead(202, { ...answer.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  writer.end(text);
}

/** Whether a `Prefer` header asked for `respond-async` (then the answer says it applied it). */
function askedRespondAsync(headers: string[]): boolean {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() === 'prefer' && /respond-async/i.test(headers[i + 1]!)) return true;
  }
  return false;
}
