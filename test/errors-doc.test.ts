/**
 * Error `type` URLs resolve: the server serves the errors page they point at, with an entry for
 * every code of the registry, and `ferry errors CODE` prints one.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { codes } from '../src/errors/codes.js';
import { startFerry, disposeFerry, type Ferry } from './support/ferry.js';
import { runCli, show } from './support/helpers.js';

let ferry: Ferry;
before(async () => {
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
});
after(async () => {
  await disposeFerry(ferry);
});

test("a problem's type resolves to the server's errors page, at the code's own entry", async () => {
  for (const [path, init] of [['/v1/functions/nope', {}], ['/v1/functions', { headers: { authorization: 'Bearer fry_bogus' } }], ['/fn/nope', {}]] as const) {
    const url = `${ferry.url}${path}`;
    const res = await fetch(url, { headers: { authorization: `Bearer ${ferry.token}`, ...init.headers } });
    const problem = (await res.json()) as { type: string; code: string };
    const target = new URL(problem.type, url);
    assert.equal(target.origin, new URL(ferry.url).origin, `${path}: ${problem.type} points at the server itself`);
    assert.equal(target.hash, `#${problem.code}`, `${path}: ${problem.type}`);
    const page = await fetch(target);
    assert.equal(page.status, 200, `${target.href} resolves`);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.ok((await page.text()).includes(`<tr id="${problem.code}">`), `${target.href}: the page has the entry`);
  }
});

test('the errors page has an entry for every registered code, with its status', async () => {
  const html = await (await fetch(`${ferry.url}/v1/errors`)).text();
  for (const [code, { status }] of Object.entries(codes)) assert.match(html, new RegExp(`<tr id="${code}"><td><a href="#${code}"><code>${code}</code></a></td><td>${status}</td><td>[^<]+`), `the errors page lacks ${code}`);
  const listed = ((await (await fetch(`${ferry.url}/v1/errors`, { headers: { accept: 'application/json' } })).json()) as { errors: Array<{ code: string; status: number; fix: string }> }).errors;
  assert.deepEqual(listed.map((e) => e.code).sort(), Object.keys(codes).sort());
  for (const e of listed) assert.ok(e.fix.length > 0, `${e.code} says what to do`);
});

test('ferry errors CODE prints what it means and what to do', async () => {
  const r = await runCli(['errors', 'name-taken'], { env: { FERRY_URL: ferry.url } });
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^name-taken \(409\): .+\n.+\n$/);
  const unknown = await runCli(['errors', 'no-such-code'], { env: { FERRY_URL: ferry.url } });
  assert.equal(unknown.code, 1, show(unknown));
});
