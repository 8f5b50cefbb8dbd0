import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeployTarget } from '../core/index.js';
import { acceptedAnswer, asyncOptions, readBody, storedRequest, type Executions } from '../service/index.js';

/**
 * An asynchronous invocation (`Prefer: respond-async`, `X-tinyFaaS-Async`): checks its
 * callback and key, reads the whole body, stores the request and answers 202 with the
 * execution's location, only once the store has committed it.
 */
export async function acceptAsync(
  executions: Executions,
  req: IncomingMessage,
  res: ServerResponse,
  target: DeployTarget,
  path: string,
  o: { public: boolean; maxBodyBytes: number },
): Promise<void> {
  const opts = asyncOptions(req.rawHeaders, executions.policy);
  const body = await readBody(req, o.maxBodyBytes);
  const out = await executions.submit({ target, public: o.public, request: storedRequest(req.method ?? 'GET', path, req.rawHeaders, body), ...opts });
  const prefer = req.headers.prefer;
  const answer = acceptedAnswer(out, typeof prefer === 'string' && /respond-async/i.test(prefer));
  const text = JSON.stringify(answer.body);
  res.writeHead(202, { ...answer.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
