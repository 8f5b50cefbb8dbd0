// Deploy-time checks: a version whose handler cannot load (a syntax error, a missing module, a
// missing export) or whose command is missing is refused with 422 before anything is stored;
// ?check=false stores it anyway; TypeScript type errors are warnings, or refusals under
// --strict-types. And Python functions see only the stdlib, their package and its .ferry/site.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, packFiles, writeFiles, type Ferry, type PackageFiles } from './support/ferry.js';
import { runCli, show } from './support/helpers.js';

let ferry: Ferry;
let strict: Ferry;
before(async () => {
  [ferry, strict] = await Promise.all([startFerry(), startFerry({ args: ['--strict-types'] })]);
});
after(async () => {
  await Promise.all([disposeFerry(ferry), disposeFerry(strict)]);
});

interface Problem {
  code: string;
  status: number;
  detail: string;
  file?: string;
  line?: number;
  column?: number;
  message?: string;
}

async function upload(f: Ferry, name: string, files: PackageFiles, query = ''): Promise<Response> {
  return f.api('POST', `/v1/functions/${name}/versions${query}`, await packFiles(files), { 'content-type': 'application/gzip' });
}

/** Uploads `files`, expects the check's 422 and that nothing of the function was stored. */
async function refused(name: string, files: PackageFiles, f = ferry): Promise<Problem> {
  const res = await upload(f, name, files);
  const p = (await res.json()) as Problem;
  assert.equal(res.status, 422, JSON.stringify(p));
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal((await f.api('GET', `/v1/functions/${name}`)).status, 404, 'a refused first version creates no function');
  return p;
}

/** The same files deploy with ?check=false (the runtime's own failure path is left to them). */
async function deploysUnchecked(name: string, files: PackageFiles): Promise<void> {
  const res = await upload(ferry, `${name}-unchecked`, files, '?check=false');
  assert.equal(res.status, 201, await res.text());
  const log = await ferry.api('GET', `/v1/functions/${name}-unchecked/versions/v1/build-log`);
  assert.match(await log.text(), /check: skipped/);
}

const node = (handler: string, files: PackageFiles): PackageFiles => ({ 'ferry.json': JSON.stringify({ runtime: 'node', handler }), 'package.json': '{"type":"module"}', ...files });
const python = (files: PackageFiles): PackageFiles => ({ 'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }), ...files });

test('node .js: a syntax error is refused with its file, line and column', async () => {
  const files = node('index.js', { 'index.js': 'import "./lib.js";\nexport default () => 1;\n', 'lib.js': 'export const a = 1;\nexport const b = a +;\n' });
  const p = await refused('syntax-js', files);
  assert.equal(p.code, 'handler-check-failed');
  assert.equal(p.file, 'lib.js');
  assert.equal(p.line, 2);
  assert.equal(p.column, 21);
  assert.match(p.message!, /SyntaxError/);
  assert.match(p.detail, /^lib\.js:2:21: SyntaxError/);
  await deploysUnchecked('syntax-js', files);
});

test('node .mjs: a missing package is refused with the line that imports it', async () => {
  const files = node('main.mjs', { 'main.mjs': '// the one import\nimport left from "left-pad-nowhere";\nexport default () => left("x", 3);\n' });
  const p = await refused('missing-mjs', files);
  assert.equal(p.code, 'handler-check-failed');
  assert.equal(p.file, 'main.mjs');
  assert.equal(p.line, 2);
  assert.match(p.message!, /left-pad-nowhere/);
  await deploysUnchecked('missing-mjs', files);
});

test('node .js: an import of a missing export is refused with its line; a missing handler export names the file', async () => {
  const files = node('index.js', { 'index.js': 'const x = 1;\nimport { nope } from "./lib.js";\nexport default () => nope + x;\n', 'lib.js': 'export const yes = 1;\n' });
  const p = await refused('export-js', files);
  assert.equal(p.file, 'index.js');
  assert.equal(p.line, 2);
  assert.match(p.message!, /does not provide an export named 'nope'/);
  await deploysUnchecked('export-js', files);

  const q = await refused('handler-export-js', node('index.js:main', { 'index.js': 'export const other = () => 1;\n' }));
  assert.equal(q.file, 'index.js');
  assert.match(q.message!, /no export "main"/);
});

test('node .js: code that throws at import is refused with the line that threw', async () => {
  const p = await refused('throws-js', node('index.js', { 'index.js': 'const ok = 1;\nundefinedThing();\nexport default () => ok;\n' }));
  assert.equal(p.file, 'index.js');
  assert.equal(p.line, 2);
  assert.match(p.message!, /ReferenceError: undefinedThing is not defined/);
});

test('TypeScript: a syntax error is refused by the build with its file and line', async () => {
  const res = await upload(ferry, 'syntax-ts', { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'index.ts': 'const a = 1;\nexport default (req: Request => a;\n' });
  const p = (await res.json()) as Problem;
  assert.equal(res.status, 422);
  assert.equal(p.code, 'build-failed');
  assert.equal(p.file, 'index.ts');
  assert.equal(p.line, 2);
  assert.equal((await ferry.api('GET', '/v1/functions/syntax-ts')).status, 404);
});

test('TypeScript: a missing module and a missing export are refused with the .ts file and line', async () => {
  const missing = { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'index.ts': 'type T = number;\nimport nowhere from "no-such-module-here";\nexport default (): T => nowhere;\n' };
  const p = await refused('missing-ts', missing);
  assert.equal(p.file, 'index.ts');
  assert.equal(p.line, 2);
  assert.match(p.message!, /no-such-module-here/);
  await deploysUnchecked('missing-ts', missing);

  const exp = { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'index.ts': 'import { gone } from "./lib.ts";\nexport default () => gone;\n', 'lib.ts': 'export const here = 1;\n' };
  const q = await refused('export-ts', exp);
  assert.equal(q.file, 'index.ts');
  assert.equal(q.line, 1);
  assert.match(q.message!, /export named 'gone'/);
  await deploysUnchecked('export-ts', exp);
});

test('TypeScript: a type error deploys with a warning, in the answer and the build log; --strict-types refuses it', async () => {
  const files = { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'index.ts': 'const n: number = 1;\nconst s: string = n;\nexport default (req: Request): Response => new Response(s + req.url);\n' };
  const res = await upload(ferry, 'typed-ts', files);
  const v = (await res.json()) as { warnings?: string[] };
  assert.equal(res.status, 201, JSON.stringify(v));
  assert.equal(v.warnings?.length, 1);
  assert.match(v.warnings![0]!, /^index\.ts\(2,7\): error TS2322/);
  const log = await (await ferry.api('GET', '/v1/functions/typed-ts/versions/v1/build-log')).text();
  assert.match(log, /warning: index\.ts\(2,7\)/);
  // It still runs: types are the author's business unless the server says otherwise.
  assert.equal((await fetch(`${ferry.url}/fn/typed-ts`)).status, 200);

  const p = await refused('typed-ts', files, strict);
  assert.equal(p.code, 'handler-check-failed');
  assert.equal(p.file, 'index.ts');
  assert.equal(p.line, 2);
  assert.match(p.detail, /--strict-types/);
  // A well-typed handler deploys under --strict-types with no warnings.
  const ok = await upload(strict, 'typed-ok', { 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'index.ts': 'import { helper } from "./lib.ts";\nexport default (req: Request): Response => new Response(helper(req.url) + process.env.FERRY_FUNCTION);\n', 'lib.ts': 'export const helper = (s: string): string => s.toUpperCase();\n' });
  const okBody = (await ok.json()) as { warnings?: string[] };
  assert.equal(ok.status, 201, JSON.stringify(okBody));
  assert.equal(okBody.warnings, undefined);
});

test('python: a syntax error, a missing module and a missing function are refused with file and line', async () => {
  const syntax = python({ 'main.py': 'import helper\n\ndef handler(request):\n    return helper.x\n', 'helper.py': 'x = 1\ny = (x +\n' });
  const p = await refused('syntax-py', syntax);
  assert.equal(p.code, 'handler-check-failed');
  assert.equal(p.file, 'helper.py');
  assert.equal(p.line, 2);
  assert.match(p.message!, /SyntaxError/);
  await deploysUnchecked('syntax-py', syntax);

  const missing = python({ 'main.py': 'import json\nimport no_such_module_here\n\ndef handler(request):\n    return 1\n' });
  const q = await refused('missing-py', missing);
  assert.equal(q.file, 'main.py');
  assert.equal(q.line, 2);
  assert.match(q.message!, /ModuleNotFoundError: No module named 'no_such_module_here'/);
  await deploysUnchecked('missing-py', missing);

  const exp = python({ 'main.py': 'from helper import nothing_here\n\ndef handler(request):\n    return 1\n', 'helper.py': 'something = 1\n' });
  const r = await refused('export-py', exp);
  assert.equal(r.file, 'main.py');
  assert.equal(r.line, 1);
  assert.match(r.message!, /ImportError: cannot import name 'nothing_here'/);

  const noHandler = await refused('nohandler-py', python({ 'main.py': 'def other(request):\n    return 1\n' }));
  assert.equal(noHandler.file, 'main.py');
  assert.match(noHandler.message!, /no function 'handler'/);
});

test('python: a module only in the host interpreter\'s site-packages cannot be imported; the stdlib and the package can', async () => {
  // The interpreter Ferry runs (python3 on PATH, as the server resolves it) and a module from its site-packages.
  const found = execFileSync('python3', ['-c', 'import importlib.util as u\nfor m in ("yaml", "pip", "setuptools", "requests"):\n    s = u.find_spec(m)\n    if s and s.origin and "-packages" in s.origin:\n        print(m)\n        break'], { encoding: 'utf8' }).trim();
  assert.ok(found, 'the host python has a module in its site-packages to test with');
  const files = python({
    'main.py': [
      'import json, importlib.util',
      'import mine',
      'def handler(request):',
      `    return {"host": importlib.util.find_spec(${JSON.stringify(found)}) is not None, "mine": mine.VALUE, "stdlib": json.dumps([1])}`,
    ].join('\n'),
    'mine.py': 'VALUE = 42\n',
  });
  await ferry.deploy('isolated-py', files);
  const res = await fetch(`${ferry.url}/fn/isolated-py`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { host: false, mine: 42, stdlib: '[1]' });
  // And the check refuses a handler importing it, as the instance would fail.
  const p = await refused('host-module-py', python({ 'main.py': `import ${found}\n\ndef handler(request):\n    return 1\n` }));
  assert.match(p.message!, new RegExp(`No module named '${found}'`));
});

test('python: the package\'s .ferry/site is on sys.path', async () => {
  await ferry.deploy('site-py', python({ 'main.py': 'import vendored\n\ndef handler(request):\n    return vendored.NAME\n', '.ferry/site/vendored.py': 'NAME = "from .ferry/site"\n' }));
  const res = await fetch(`${ferry.url}/fn/site-py`);
  assert.equal(await res.text(), 'from .ferry/site');
});

test('exec: a missing or non-executable command is refused naming it', async () => {
  const missing = await refused('exec-missing', { 'ferry.json': JSON.stringify({ runtime: 'exec', command: ['/opt/nowhere/bin/tool'] }) });
  assert.match(missing.detail, /\/opt\/nowhere\/bin\/tool/);
  const bare = await refused('exec-bare', { 'ferry.json': JSON.stringify({ runtime: 'exec', command: ['no-such-program-on-path'] }) });
  assert.match(bare.detail, /no-such-program-on-path/);
  const notExec = await refused('exec-noexec', { 'ferry.json': JSON.stringify({ runtime: 'exec', command: ['./run.sh'] }), 'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o644 } });
  assert.match(notExec.detail, /run\.sh/);
  const http = await refused('http-missing', { 'ferry.json': JSON.stringify({ runtime: 'http', command: ['/opt/nowhere/server'] }) });
  assert.match(http.detail, /\/opt\/nowhere\/server/);
  // A program of the host the sandbox sees, and one in the package, pass.
  await ferry.deploy('exec-host', { 'ferry.json': JSON.stringify({ runtime: 'exec', command: ['/bin/cat'] }) });
  await ferry.deploy('exec-pkg', { 'ferry.json': JSON.stringify({ runtime: 'exec', command: ['./run.sh'] }), 'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 } });
  assert.equal(await (await fetch(`${ferry.url}/fn/exec-pkg`)).text(), 'hi\n');
});

test('a good version still deploys, and ?check takes only true or false', async () => {
  const files = node('index.js', { 'index.js': 'console.log("loading");\nexport default () => "fine";\n' });
  const res = await upload(ferry, 'good-js', files, '?check=true');
  assert.equal(res.status, 201);
  assert.equal(await (await fetch(`${ferry.url}/fn/good-js`)).text(), 'fine');
  const bad = await upload(ferry, 'good-js', files, '?check=maybe');
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as Problem).code, 'invalid-query');
});

test('a refused version of an existing function leaves it as it was', async () => {
  await ferry.deploy('kept', node('index.js', { 'index.js': 'export default () => "v1";\n' }));
  const packages = async (): Promise<string[]> => (await readdir(join(ferry.dataDir, 'packages'))).filter((n) => n !== '.staging').sort();
  const before = await packages();
  const res = await upload(ferry, 'kept', node('index.js', { 'index.js': 'export default () => ;\n' }));
  assert.equal(res.status, 422);
  assert.deepEqual(await packages(), before, 'no package stored');
  assert.deepEqual(await readdir(join(ferry.dataDir, 'packages', '.staging')), [], 'no staging left');
  const versions = (await (await ferry.api('GET', '/v1/functions/kept/versions')).json()) as { versions: unknown[] };
  assert.equal(versions.versions.length, 1);
  assert.equal(await (await fetch(`${ferry.url}/fn/kept`)).text(), 'v1');
});

test('ferry deploy: the refusal names file and line; --no-check deploys anyway', async () => {
  const work = await mkdtemp(join(tmpdir(), 'ferry-checks-cli-'));
  try {
    const dir = await writeFiles(node('index.js', { 'index.js': 'export default () => {\n  return 1 +;\n};\n' }));
    const env = { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token };
    const refused = await runCli(['deploy', dir, '--name', 'cli-broken'], { env, cwd: work });
    assert.notEqual(refused.code, 0, show(refused));
    assert.match(refused.stderr, /index\.js:2:\d+: SyntaxError/, show(refused));
    const unchecked = await runCli(['deploy', dir, '--name', 'cli-broken', '--no-check'], { env, cwd: work });
    assert.equal(unchecked.code, 0, show(unchecked));
    assert.match(unchecked.stdout, /^Deployed cli-broken v1$/m);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('a check that ends without a report is refused with its exit status', async () => {
  const p = await refused('exits-py', python({ 'main.py': 'import os\nos._exit(3)\n\ndef handler(request):\n    return 1\n' }));
  assert.equal(p.code, 'handler-check-failed');
  assert.match(p.detail, /without a report \(exit code 3\)/);
});

test('the type check reads no file of the host outside the package', async () => {
  const outside = await mkdtemp(join(tmpdir(), 'ferry-typecheck-'));
  try {
    // Were it read, its type would reach a warning (TS2322: 'string' is not assignable to 'number'),
    // and the warnings would tell what the host file holds.
    await writeFile(join(outside, 'host.ts'), 'export const HOST_VALUE = "host-only-literal-4711" as const;\n');
    const checked = await upload(ferry, 'typecheck-host', {
      'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }),
      'index.ts': `import type { HOST_VALUE } from ${JSON.stringify(join(outside, 'host.ts'))};\nconst n: number = (null as unknown as typeof HOST_VALUE);\nexport default () => n;\n`,
    });
    const text = await checked.text();
    assert.equal(checked.status, 201, text);
    assert.doesNotMatch(text, /host-only-literal-4711/);
    assert.equal((JSON.parse(text) as { warnings?: string[] }).warnings, undefined);
  } finally {
    await rm(outside, { recursive: true, force: true });
  }
});
