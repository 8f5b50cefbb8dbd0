import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { FerryError } from '../../errors/index.js';
import { startInstance, tempDir } from '../../../test/support/runtime-harness.js';
import { execRuntime } from './exec-runtime.js';

const script = `#!/bin/sh
case "$FERRY_PATH" in
  /fail) echo "bad thing" >&2; printf 'half a line' >&2; exit 3 ;;
  /binary) printf '\\377\\376\\000'; exit 0 ;;
  /sleep) echo $$ > "$PIDFILE"; exec sleep 5 ;;
  /slow) sleep 0.3; echo slow; exit 0 ;;
esac
echo "to stderr" >&2
printf 'method=%s path=%s query=%s xtest=%s proxy=%s rid=%s\\n' "$FERRY_METHOD" "$FERRY_PATH" "$FERRY_QUERY" "$HTTP_X_TEST" "\${HTTP_PROXY-unset}" "$FERRY_REQUEST_ID"
cat
`;

function pkg(t: TestContext): string {
  const dir = tempDir(t, 'ferry-exec-');
  writeFileSync(join(dir, 'handler.sh'), script);
  chmodSync(join(dir, 'handler.sh'), 0o755);
  writeFileSync(join(dir, 'not-executable.sh'), script);
  return dir;
}

/** node:http rather than fetch: fetch may refuse a `Proxy` request header. */
function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('validate and build check the command', async (t) => {
  assert.throws(() => execRuntime.validate({ runtime: 'exec' }), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest');
  assert.throws(() => execRuntime.validate({ runtime: 'exec', command: ['bin/../../x'] }), FerryError);
  const dir = pkg(t);
  await execRuntime.build({ dir, manifest: { runtime: 'exec', command: ['./handler.sh'] }, log() {} });
  await execRuntime.build({ dir, manifest: { runtime: 'exec', command: ['cat'] }, log() {} }); // on PATH: not checked
  for (const program of ['./not-executable.sh', './missing.sh']) {
    await assert.rejects(execRuntime.build({ dir, manifest: { runtime: 'exec', command: [program] }, log() {} }), (e: unknown) => e instanceof FerryError && e.code === 'invalid-manifest');
  }
});

test('exec instance: one process per call, CGI environment, errors, logs', async (t) => {
  const dir = pkg(t);
  const pidFile = join(dir, 'pid');
  const inst = await startInstance(t, execRuntime, dir, { command: ['./handler.sh'], env: { PIDFILE: pidFile } }, { timeoutMs: 1000 });

  await t.test('stdin, method, path, query and headers; Proxy does not become HTTP_PROXY', async () => {
    const r = await post(`${inst.url}/a/b?c=d&e`, 'hello body', { 'x-test': '42', proxy: 'http://evil.example:8080' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    const rid = r.headers['x-request-id'];
    assert.equal(r.body, `method=POST path=/a/b query=c=d&e xtest=42 proxy=unset rid=${rid}\nhello body`);
    assert.ok(inst.stderr().includes(`\x1e${rid}\x1fto stderr\n`));
  });

  await t.test('non-UTF-8 stdout is application/octet-stream', async () => {
    const r = await fetch(`${inst.url}/binary`);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.deepEqual([...new Uint8Array(await r.arrayBuffer())], [255, 254, 0]);
  });

  await t.test('exit 3 -> 500, stderr lines in the instance stderr with the prefix', async () => {
    const r = await fetch(`${inst.url}/fail`);
    assert.equal(r.status, 500);
    assert.equal(await r.text(), 'exit status 3\n');
    const rid = r.headers.get('x-request-id')!;
    const err = inst.stderr();
    assert.ok(err.includes(`\x1e${rid}\x1fbad thing\n`), err);
    assert.ok(err.includes(`\x1e${rid}\x1fhalf a line\n`), err);
  });

  await t.test('a cancelled call kills its process', async () => {
    const r = await fetch(`${inst.url}/sleep`);
    assert.equal(r.status, 504);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const end = Date.now() + 2000;
    while (isAlive(pid)) {
      assert.ok(Date.now() < end, `process ${pid} still running`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
});

test('exec instance: at most `concurrency` processes at once', async (t) => {
  const dir = pkg(t);
  const inst = await startInstance(t, execRuntime, dir, { command: ['./handler.sh'], scaling: { concurrency: 2, minInstances: 0, maxInstances: 1, idleTimeoutMs: 60_000, maxQueue: 10 } });
  const started = Date.now();
  const all = await Promise.all(Array.from({ length: 4 }, () => fetch(`${inst.url}/slow`).then((r) => r.text())));
  assert.deepEqual(all, Array(4).fill('slow\n'));
  assert.ok(Date.now() - started >= 550, `4 calls of 300 ms with 2 slots took only ${Date.now() - started} ms`);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
