/**
 * FaaS on Tangle's gateway on Ferry (`--compat tangle`) and the ad-hoc runs under it
 * (`POST /v1/run`, `ferry run`): the seed's request body with a byte-array payload, a command
 * that is not found, one that exits 3, a timeout, bad payloads, the run off by default, and
 * permission:execute, all in real sandboxes of the server's driver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { runCli, until } from './support/helpers.js';

const bytes = (s: string): number[] => [...Buffer.from(s)];

async function invoke(f: Ferry, id: string, body: unknown, token = f.token): Promise<{ status: number; json: { stdout?: string; stderr?: string; error?: string | null; code?: string } }> {
  const res = await fetch(`${f.url}/functions/${id}/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as never };
}

async function userToken(f: Ferry, name: string, groups: string[]): Promise<string> {
  markSensitive(`pw-${name}-0123456789`);
  assert.equal((await f.api('POST', '/v1/users', { name, password: `pw-${name}-0123456789`, groups })).status, 201);
  const tok = await f.api('POST', '/v1/tokens', { user: name, days: 1 });
  return ((await tok.json()) as { token: string }).token;
}

test("Tangle's invoke: the seed's body, not found, exit 3, a timeout, bad payloads, permission:execute", async (t) => {
  const f = await startFerry({ args: ['--compat', 'tangle', '--allow-run', '--run-timeout', '5s', '--max-body', '1KiB'] });
  t.after(() => disposeFerry(f));

  // The seed's body, with a command that reads its payload and its environment.
  const ok = await invoke(f, 'my-fn', { image: 'ignored-for-firecracker', command: ['/bin/sh', '-c', 'tr a-z A-Z; echo "$VAR1 $VAR2" >&2'], env_vars: ['VAR1=value1', 'VAR2=value2'], payload: bytes('hello tangle') });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.deepEqual(ok.json, { stdout: 'HELLO TANGLE', stderr: 'value1 value2\n', error: null });

  // The default root file system: the host's system folders, nothing of the rest, no network.
  const inside = await invoke(f, 'probe', { image: 'x', command: ['/bin/sh', '-c', 'ls -d /home /root /srv 2>&1; cat /proc/net/dev | tail -n +3 | cut -d: -f1'], payload: [] });
  assert.equal(inside.status, 200);
  assert.doesNotMatch(inside.json.stdout!, /^\/home$|^\/root$|^\/srv$/m, 'host folders outside the system ones are not there');
  assert.deepEqual(inside.json.stdout!.split('\n').filter((l) => l.trim() && !l.includes('No such file')).map((l) => l.trim()), ['lo'], 'network none: only loopback');

  const missing = await invoke(f, 'my-fn', { image: 'x', command: ['no-such-command-here', 'a'], env_vars: [], payload: [] });
  assert.equal(missing.status, 200);
  assert.equal(missing.json.error, 'command not found: no-such-command-here');

  const three = await invoke(f, 'my-fn', { image: 'x', command: ['/bin/sh', '-c', 'echo partial; exit 3'], env_vars: [], payload: [] });
  assert.equal(three.status, 200);
  assert.deepEqual(three.json, { stdout: 'partial\n', stderr: '', error: 'exit status 3' });

  const slow = await invoke(f, 'my-fn', { image: 'x', command: ['sleep', '30'], payload: [], timeout_ms: 300 });
  assert.equal(slow.status, 200);
  assert.equal(slow.json.error, 'timed out after 300 ms');

  const overCap = await invoke(f, 'my-fn', { image: 'x', command: ['sleep', '1'], payload: [], timeout_ms: 6000 });
  assert.equal(overCap.status, 422);
  assert.match(overCap.json.error!, /timeout_ms: an integer from 1 to 5000/);

  // Bad payloads: a clear {"error"} in Tangle's shape, nothing run.
  for (const [payload, why] of [['aGVsbG8=', /payload: an array of bytes/], [[1, 256], /payload\[1\]: 256 is not a byte/], [[1, -1], /payload\[1\]/], [[0.5], /payload\[0\]/], [['a'], /payload\[0\]/]] as const) {
    const r = await invoke(f, 'my-fn', { image: 'x', command: ['cat'], payload });
    assert.equal(r.status, 422, JSON.stringify(payload));
    assert.match(r.json.error!, why);
  }
  const big = await invoke(f, 'my-fn', { image: 'x', command: ['cat'], payload: new Array(1025).fill(7) });
  assert.equal(big.status, 413);
  assert.match(big.json.error!, /payload: at most 1024 bytes/);
  const notJson = await invoke(f, 'my-fn', '{"command": [');
  assert.equal(notJson.status, 400);
  assert.match(notJson.json.error!, /not JSON/);
  const noCommand = await invoke(f, 'my-fn', { image: 'x', payload: [] });
  assert.equal(noCommand.status, 422);
  const badEnv = await invoke(f, 'my-fn', { image: 'x', command: ['true'], env_vars: ['NOEQUALS'] });
  assert.equal(badEnv.status, 422);
  assert.match(badEnv.json.error!, /env_vars: "NOEQUALS" is not "KEY=value"/);

  // permission:execute: a reader is refused, no token is 401.
  const reader = await userToken(f, 'reader', ['permission:read']);
  const refused = await invoke(f, 'my-fn', { image: 'x', command: ['true'] }, reader);
  assert.equal(refused.status, 403);
  assert.equal(refused.json.code, 'forbidden');
  assert.equal((await invoke(f, 'my-fn', { image: 'x', command: ['true'] }, '')).status, 401);
  const runner = await userToken(f, 'runner', ['permission:execute']);
  assert.deepEqual((await invoke(f, 'my-fn', { image: 'x', command: ['echo', 'hi'] }, runner)).json, { stdout: 'hi\n', stderr: '', error: null });

  // function_id labels the metrics and the log line.
  const metrics = await (await f.api('GET', '/metrics')).text();
  assert.match(metrics, /ferry_ad_hoc_runs_total\{label="my-fn",outcome="not-found"\} 1/);
  assert.match(metrics, /ferry_ad_hoc_runs_total\{label="my-fn",outcome="timed-out"\} 1/);
  assert.ok(f.output.some((l) => l.includes('"label":"my-fn"') && l.includes('"outcome":"exited"')), 'a log line labelled with the function id');
});

test('ad-hoc runs are off by default: Tangle and /v1/run answer run-disabled', async (t) => {
  const f = await startFerry({ args: ['--compat', 'tangle'] });
  t.after(() => disposeFerry(f));
  const r = await invoke(f, 'my-fn', { image: 'x', command: ['true'], payload: [] });
  assert.equal(r.status, 403);
  assert.equal(r.json.code, 'run-disabled');
  const v1 = await f.api('POST', '/v1/run', { command: ['true'] });
  assert.equal(v1.status, 403);
  assert.equal(((await v1.json()) as { code: string }).code, 'run-disabled');
});

test('POST /v1/run: base64 and raw payloads, binary output, streamed output, permission:execute; ferry run', async (t) => {
  // A long cap: a run whose caller left must end long before it.
  const f = await startFerry({ args: ['--allow-run', '--run-timeout', '120s'] });
  t.after(() => disposeFerry(f));

  const text = await f.api('POST', '/v1/run', { command: ['tr', 'a-z', 'A-Z'], payload: Buffer.from('abc').toString('base64'), env: { X: '1' } });
  assert.deepEqual(await text.json(), { stdout: 'ABC', stderr: '', encoding: 'utf8', exitCode: 0, error: null });

  const raw = await f.api('POST', '/v1/run?command=wc&command=-c', 'twelve bytes', { 'content-type': 'application/octet-stream' });
  assert.deepEqual(await raw.json(), { stdout: '12\n', stderr: '', encoding: 'utf8', exitCode: 0, error: null });

  const binary = await f.api('POST', '/v1/run', { command: ['cat'], payload: Buffer.from([0xff, 0, 1]).toString('base64') });
  assert.deepEqual(await binary.json(), { stdout: '/wAB', stderr: '', encoding: 'base64', exitCode: 0, error: null });

  const three = await f.api('POST', '/v1/run', { command: ['sh', '-c', 'exit 3'] });
  assert.deepEqual(await three.json(), { stdout: '', stderr: '', encoding: 'utf8', exitCode: 3, error: 'exit status 3' });

  const streamed = await f.api('POST', '/v1/run', { command: ['sh', '-c', 'echo one; echo two >&2; exit 4'], stream: true });
  assert.equal(streamed.headers.get('content-type'), 'application/x-ndjson');
  const lines = (await streamed.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | number | null>);
  assert.equal(lines.filter((l) => 'stdout' in l).map((l) => Buffer.from(l.stdout as string, 'base64').toString()).join(''), 'one\n');
  assert.equal(lines.filter((l) => 'stderr' in l).map((l) => Buffer.from(l.stderr as string, 'base64').toString()).join(''), 'two\n');
  assert.deepEqual(lines.at(-1), { exitCode: 4, error: 'exit status 4' });

  // A caller that hangs up stops its run (not left to run out its time).
  const ac = new AbortController();
  const long = await fetch(`${f.url}/v1/run`, { method: 'POST', signal: ac.signal, headers: { authorization: `Bearer ${f.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ command: ['sh', '-c', 'echo started; sleep 60'], stream: true }) });
  const reader0 = long.body!.getReader();
  assert.match(Buffer.from((await reader0.read()).value!).toString(), /"stdout"/);
  ac.abort();
  const cancelled = await until(async () => /ferry_ad_hoc_runs_total\{label="",outcome="cancelled"\} 1/.test(await (await f.api('GET', '/metrics')).text()), 20_000);
  assert.ok(cancelled, 'the run of a caller that left ends as cancelled');

  const badPayload = await f.api('POST', '/v1/run', { command: ['cat'], payload: 'not base64!' });
  assert.equal(badPayload.status, 422);

  const reader = await userToken(f, 'reader', ['permission:read']);
  const refused = await fetch(`${f.url}/v1/run`, { method: 'POST', headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' }, body: JSON.stringify({ command: ['true'] }) });
  assert.equal(refused.status, 403);

  const cli = await runCli(['run', '--', 'sh', '-c', 'cat; echo err >&2; exit 5'], { input: 'from stdin', env: { FERRY_URL: f.url, FERRY_TOKEN: f.token } });
  assert.equal(cli.stdout, 'from stdin');
  assert.equal(cli.stderr, 'err\n');
  assert.equal(cli.code, 5);
  const notFound = await runCli(['run', '--', 'no-such-command-here'], { env: { FERRY_URL: f.url, FERRY_TOKEN: f.token } });
  assert.equal(notFound.code, 127);
  assert.match(notFound.stderr, /command not found: no-such-command-here/);
});
