/** A client of the seed-003 API for its tests: its routes as the seed's clients call them. */
import assert from 'node:assert/strict';
import { markSensitive, sleep, type Ferry } from './ferry.js';

export interface SeedAnswer {
  status: number;
  json: Record<string, unknown>;
}

export interface SeedClient {
  /** One request: a FormData body goes as form data, anything else as JSON. */
  call(method: string, path: string, token: string | undefined, body?: unknown): Promise<SeedAnswer>;
  /** Registers `username` (as a user) and logs in: answers the login's token. */
  signUp(username: string): Promise<string>;
  /** Submits an execution and polls it until it is `completed` or `failed`. */
  execute(token: string, functionId: string, input: unknown): Promise<Record<string, unknown>>;
  /** Polls execution `id` until it is `completed` or `failed`. */
  poll(token: string, id: string): Promise<Record<string, unknown>>;
}

export function seedClient(f: Ferry): SeedClient {
  const call = async (method: string, path: string, token: string | undefined, body?: unknown): Promise<SeedAnswer> => {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${f.url}${path}`, { method, headers, body: payload });
    const text = await res.text();
    f.answers.push(text);
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const signUp = async (username: string): Promise<string> => {
    const password = `pw-${username}-0123456789`;
    markSensitive(password);
    const reg = await call('POST', '/auth/register', undefined, { username, password, role: 'user' });
    assert.equal(reg.status, 201, JSON.stringify(reg.json));
    assert.equal(reg.json.username, username);
    const login = await call('POST', '/auth/login', undefined, { username, password });
    assert.equal(login.status, 200, JSON.stringify(login.json));
    return login.json.token as string;
  };
  const execute = async (token: string, functionId: string, input: unknown): Promise<Record<string, unknown>> => {
    const sub = await call('POST', '/api/executions', token, { function_id: functionId, input });
    assert.equal(sub.status, 201, JSON.stringify(sub.json));
    assert.equal(sub.json.status, 'pending');
    return poll(token, sub.json.id as string);
  };
  const poll = async (token: string, id: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const got = await call('GET', `/api/executions/${id}`, token);
      assert.equal(got.status, 200, JSON.stringify(got.json));
      if (got.json.status === 'completed' || got.json.status === 'failed') return got.json;
      await sleep(200);
    }
  };
  return { call, signUp, execute, poll };
}
