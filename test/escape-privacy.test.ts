// The escape suite, privacy: what a function or its caller says stays with whoever may read the
// function. A tenant's thrown message (node, python, at import or in a call, sync or async) never
// reaches a public caller; credential headers a caller sent never show in, nor stay in, a record.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, packFiles, type Ferry, type PackageFiles } from './support/ferry.js';
import { expectProblem, nodeFn } from './support/helpers.js';
import { sandboxSupport } from './support/sandbox.js';
import { waitFor } from './support/wait.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

/** What the functions below say when they fail: a secret they hold. */
const SECRET = `db-password-${randomBytes(8).toString('hex')}`;
const small = { scaling: { maxInstances: 1 } };

let ferry: Ferry;
/** Tokens of the tenant who owns the functions, and of another tenant (not in the owner's group). */
let owner = '';
let stranger = '';

before(async () => {
  if (skip) return;
  markSensitive('dana-password-1', 'erin-password-1');
  ferry = await startFerry({ args: ['--driver', 'bwrap', '--redact-headers', 'x-tenant-pass,x-acme-*'] });
  const perms = ['permission:read', 'permission:write', 'permission:execute', 'permission:remove'];
  for (const name of ['dana', 'erin']) {
    const res = await ferry.api('POST', '/v1/users', { name, password: `${name}-password-1`, groups: perms });
    assert.equal(res.status, 201, await res.text());
  }
  owner = await login('dana');
  stranger = await login('erin');
  await deployAs(owner, 'leak-node', nodeFn(`export default () => { throw new Error('cannot connect: ${SECRET}'); };\n`, { ...small, retries: 0 }));
  await deployAs(owner, 'leak-py', python(`def handler(request):\n    raise ValueError('cannot connect: ${SECRET}')\n`));
  // Unchecked: the deploy-time check would refuse it (to its owner); this is the instance's failure path.
  await deployAs(owner, 'leak-import', python(`raise RuntimeError('at import: ${SECRET}')\n\ndef handler(request):\n    return 'never'\n`), '?check=false');
  await deployAs(owner, 'leak-verbose', nodeFn(`export default () => { throw new Error('cannot connect: ${SECRET}'); };\n`, { ...small, errors: 'verbose' }));
});
after(async () => {
  if (skip) return;
  await disposeFerry(ferry);
});

async function login(name: string): Promise<string> {
  const res = await fetch(`${ferry.url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: `${name}-password-1` }) });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { accessToken: string }).accessToken;
}

async function deployAs(token: string, name: string, files: PackageFiles, query = ''): Promise<void> {
  const res = await fetch(`${ferry.url}/v1/functions/${name}/versions${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
    body: Buffer.from(await packFiles(files)),
  });
  assert.equal(res.status, 201, await res.text());
}

function python(source: string, manifest: Record<string, unknown> = {}): PackageFiles {
  return { 'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', ...small, ...manifest }), 'main.py': source };
}

/** An invocation; `token` null: a public caller, with no Authorization header. */
function invoke(path: string, token: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ferry.url}/fn/${path}`, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
}

/** The function's log lines (read as its owner). */
async function logLines(fn: string): Promise<Array<{ requestId: string | null; line: string }>> {
  const res = await fetch(`${ferry.url}/v1/functions/${fn}/logs?limit=1000`, { headers: { authorization: `Bearer ${owner}` } });
  assert.equal(res.status, 200);
  return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { requestId: string | null; line: string });
}

test('a thrown message reaches no public caller (node, python); readers of the function and its logs have it', { skip }, async () => {
  for (const fn of ['leak-node', 'leak-py']) {
    for (const [who, token] of [['a public caller', null], ['a tenant outside the owning group', stranger]] as const) {
      const res = await invoke(fn, token, { 'x-request-id': `${fn}-${who.length}` });
      const rid = res.headers.get('x-request-id')!;
      const p = await expectProblem(res, 500, 'function-error', `${fn}, ${who}`);
      assert.ok(!JSON.stringify(p).includes(SECRET), `${fn}: ${who} was shown the thrown message: ${JSON.stringify(p)}`);
      assert.ok(!/cannot connect/.test(p.detail), `${fn}: ${who} got the function's own words: ${p.detail}`);
      assert.equal(p.requestId, rid, `${fn}: the problem names the request`);
      assert.ok(p.detail.includes(rid), `${fn}: the detail points at the logs of request ${rid}: ${p.detail}`);
      // The message is not lost: the function's logs have it, filed under the request.
      await waitFor(`${fn}: the thrown message in the function's logs under ${rid}`, async () => (await logLines(fn)).some((l) => l.requestId === rid && l.line.includes(SECRET)));
    }
    for (const [who, token] of [['the owner', owner], ['an admin', ferry.token]] as const) {
      const p = await expectProblem(await invoke(fn, token), 500, 'function-error', `${fn}, ${who}`);
      assert.ok(p.detail.includes(SECRET), `${fn}: ${who} (read on the function) sees the message: ${p.detail}`);
    }
  }
});

test('a function that fails at import tells a public caller no more than that it could not start', { skip }, async () => {
  const res = await invoke('leak-import', null);
  const text = await res.text();
  assert.equal(res.status, 502, text);
  assert.ok(!text.includes(SECRET), `a public caller was shown the import error: ${text}`);
  assert.equal((JSON.parse(text) as { code: string }).code, 'instance-start-failed');
  await waitFor("the import error in the function's logs", async () => (await logLines('leak-import')).some((l) => l.line.includes(SECRET)));
});

test('errors: "verbose" opts back in: every caller sees the message', { skip }, async () => {
  const p = await expectProblem(await invoke('leak-verbose', null), 500, 'function-error');
  assert.ok(p.detail.includes(SECRET), p.detail);
});

interface Execution {
  status: string;
  attempts: number;
  request: { headers: Record<string, string | string[]> };
  result: { status: number; body: string | null } | null;
  error: { code: string; detail: string } | null;
  logs?: Array<{ line: string }>;
}

async function submit(path: string, headers: Record<string, string> = {}, body = ''): Promise<string> {
  const res = await fetch(`${ferry.url}/fn/${path}`, { method: 'POST', headers: { prefer: 'respond-async', ...headers }, body });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  return (JSON.parse(text) as { id: string }).id;
}

async function ended(id: string, token: string | null): Promise<{ e: Execution; text: string }> {
  const res = await fetch(`${ferry.url}/v1/executions/${id}?wait=30`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const e = JSON.parse(text) as Execution;
  assert.ok(!['queued', 'running'].includes(e.status), `execution ${id} still ${e.status}`);
  return { e, text };
}

test('an asynchronous run: a public reader of the execution sees neither the message nor the logs', { skip }, async () => {
  const id = await submit('leak-node');
  const pub = await ended(id, null);
  assert.equal(pub.e.status, 'failed');
  assert.equal(pub.e.error?.code, 'function-error');
  assert.ok(!pub.text.includes(SECRET), `the public reader of the execution was shown the thrown message: ${pub.text}`);
  assert.ok(pub.e.error!.detail.includes(id), pub.e.error!.detail);
  const mine = await ended(id, owner);
  assert.ok(mine.e.error!.detail.includes(SECRET), `the owner sees the message: ${mine.e.error!.detail}`);
  await waitFor('the execution log lines for its owner', async () => (await ended(id, owner)).e.logs?.some((l) => l.line.includes(SECRET)));
});

/** Credential headers a caller sends, by name: all of them must be redacted. */
function credentials(tag: string): Record<string, string> {
  const v = (what: string): string => `${what}-${tag}-${randomBytes(8).toString('hex')}`;
  return {
    authorization: `Basic ${v('basic')}`,
    'proxy-authorization': `Basic ${v('proxy')}`,
    cookie: `session=${v('cookie')}`,
    'x-api-key': v('apikey'),
    'x-session-token': v('token'),
    'x-client-secret': v('secret'),
    'x-signing-key': v('key'),
    'x-tenant-pass': v('configured'),
    'x-acme-pin': v('prefixed'),
  };
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A function answering a digest of every header it got: that it saw the real values, without echoing them. */
const digestFn = `import { createHash } from 'node:crypto';
let runs = 0;
export default (req) => {
  if (++runs === 1 && new URL(req.url).pathname === '/retry') throw new Error('first run fails');
  const out = {};
  req.headers.forEach((v, k) => (out[k] = createHash('sha256').update(v).digest('hex')));
  return out;
};
`;

/** Every regular file under `dir`, as bytes. */
async function filesUnder(dir: string): Promise<Array<{ path: string; bytes: Buffer }>> {
  const out: Array<{ path: string; bytes: Buffer }> = [];
  for (const name of await readdir(dir)) {
    const p = join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) out.push(...(await filesUnder(p)));
    else if (st.isFile()) out.push({ path: p, bytes: await readFile(p) });
  }
  return out;
}

test('credential headers: the function gets them (retries too), no execution record shows them, the data dir never holds them', { skip }, async () => {
  await deployAs(owner, 'creds', nodeFn(digestFn, { ...small, retries: 1 }));
  await deployAs(owner, 'creds-kept', nodeFn(digestFn, { ...small, recordCredentials: true }));
  const sent = credentials('async');
  const sync = credentials('sync');
  markSensitive(...Object.values(sent), ...Object.values(sync));

  const id = await submit('creds/retry', { ...sent, 'x-plain': 'visible' }, 'body');
  for (const token of [null, owner, ferry.token]) {
    const { e, text } = await ended(id, token);
    assert.equal(e.status, 'succeeded', text);
    assert.equal(e.attempts, 2, 'the first run failed, the retry ran');
    const how = token === null ? 'publicly' : 'with a token';
    for (const [name, value] of Object.entries(sent)) assert.ok(!text.includes(value), `the record read ${how} shows ${name}: ${JSON.stringify(e.request.headers)}`);
    for (const name of Object.keys(sent)) assert.equal(e.request.headers[name], '[redacted]', `${name} in the record read ${how}`);
    assert.equal(e.request.headers['x-plain'], 'visible', 'other headers are kept');
    const got = JSON.parse(e.result!.body!) as Record<string, string>;
    for (const [name, value] of Object.entries(sent)) assert.equal(got[name], sha(value), `the retried run got the real ${name}`);
  }

  // A synchronous call with the same kind of headers keeps nothing of them either.
  const res = await invoke('creds', null, sync);
  assert.equal(res.status, 200, await res.clone().text());
  const got = (await res.json()) as Record<string, string>;
  assert.equal(got['x-api-key'], sha(sync['x-api-key']!));

  // Nothing Ferry stored holds a credential: not the database, its WAL, nor any other file.
  await ferry.api('GET', '/v1/invocations?limit=10');
  for (const f of await filesUnder(ferry.dataDir)) {
    for (const value of [...Object.values(sent), ...Object.values(sync)]) {
      assert.ok(!f.bytes.includes(value), `${f.path} holds the credential ${value}`);
    }
  }

  // recordCredentials: true is the function's own choice to keep them.
  const kept = credentials('kept');
  const keptId = await submit('creds-kept', kept);
  const { e } = await ended(keptId, owner);
  assert.equal(e.status, 'succeeded');
  assert.equal(e.request.headers['x-api-key'], kept['x-api-key']);
});
