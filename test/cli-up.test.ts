/**
 * `ferry up` against the real server: a project file with several functions, their config,
 * secret references and aliases; a second run changes nothing and says so; a change makes one
 * new version and moves the alias; an OpenFaaS stack file (YAML) maps where its keys do.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, markSensitive, type Ferry } from './support/ferry.js';
import { runCli, show } from './support/helpers.js';

let ferry: Ferry;
let project: string;
before(async () => {
  markSensitive('up-secret-value');
  ferry = await startFerry({ args: ['--driver', 'process', '--unsandboxed'] });
  project = await mkdtemp(join(tmpdir(), 'ferry-up-'));
  const fn = (body: string) => ({ 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }), 'package.json': '{"type":"module"}', 'index.js': body });
  for (const [dir, files] of Object.entries({
    greeter: fn(`export default () => process.env.GREETING + ' ' + (process.env.UP_TOKEN ? 'with' : 'without') + ' secret';\n`),
    counter: fn(`export default (req, ctx) => 'counter ' + ctx.version;\n`),
  })) {
    await mkdir(join(project, dir));
    for (const [f, text] of Object.entries(files)) await writeFile(join(project, dir, f), text);
  }
});
after(async () => {
  await disposeFerry(ferry);
  await rm(project, { recursive: true, force: true });
});

const up = (...args: string[]) => runCli(['up', ...args], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: project, timeoutMs: 120_000 });
const cli = (...args: string[]) => runCli(args, { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: project });

async function writeProject(greeterScaling: Record<string, unknown>): Promise<void> {
  await writeFile(
    join(project, 'ferry.project.json'),
    JSON.stringify({
      functions: {
        greeter: { path: 'greeter', config: { env: { GREETING: 'hello' }, scaling: greeterScaling }, secrets: ['UP_TOKEN'], aliases: { prod: 'latest' } },
        counter: { config: { limits: { memoryMb: 192 } }, aliases: { stable: 'latest', canary: { weights: { latest: 100 } } } },
      },
    }),
  );
}

const versionsOf = async (name: string): Promise<string[]> => ((await (await ferry.api('GET', `/v1/functions/${name}/versions`)).json()) as { versions: Array<{ version: string }> }).versions.map((v) => v.version);

test('a referenced secret that is not set stops the run before anything is deployed', async () => {
  await writeProject({ maxInstances: 2 });
  const r = await up();
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /secrets referenced but not set: greeter: UP_TOKEN/);
  assert.equal((await ferry.api('GET', '/v1/functions/greeter')).status, 404);
});

test('up deploys every function with its config, secrets and aliases; a second run changes nothing', async () => {
  const set = await runCli(['secrets', 'set', 'UP_TOKEN', '--from-env', 'UP_VALUE'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token, UP_VALUE: 'up-secret-value' } });
  assert.equal(set.code, 0, show(set));
  let r = await up();
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^greeter: deployed v1 \(new function\)$/m);
  assert.match(r.stdout, /^greeter@prod: new -> v1$/m);
  assert.match(r.stdout, /^counter: deployed v1 \(new function\)$/m);
  assert.match(r.stdout, /^counter@canary: new -> v1=100$/m);
  assert.match(r.stdout, /^5 changes\.$/m);
  r = await cli('invoke', 'greeter@prod');
  assert.equal(r.stdout, 'hello with secret', show(r));
  const config = JSON.parse((await cli('config', 'get', 'counter@stable')).stdout) as { limits: { memoryMb: number } };
  assert.equal(config.limits.memoryMb, 192);

  r = await up();
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stdout, 'greeter: unchanged\ncounter: unchanged\nNothing changed.\n');
  assert.deepEqual(await versionsOf('greeter'), ['v1']);
});

test('a config change: --dry-run says so and changes nothing; up makes one new version and moves the alias', async () => {
  await writeProject({ maxInstances: 3 });
  let r = await up('--dry-run');
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^greeter: would deploy a new version \(configuration changed: scaling\)$/m);
  assert.match(r.stdout, /^counter: unchanged$/m);
  assert.deepEqual(await versionsOf('greeter'), ['v1']);
  r = await up();
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^greeter: deployed v2 \(configuration changed: scaling\)$/m);
  assert.match(r.stdout, /^greeter@prod: v1 -> v2$/m);
  assert.match(r.stdout, /^counter: unchanged$/m);
  assert.match(r.stdout, /^2 changes\.$/m);
});

test('a code change deploys that function alone', async () => {
  await writeFile(join(project, 'counter', 'index.js'), `export default (req, ctx) => 'counted ' + ctx.version;\n`);
  const r = await up();
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /^greeter: unchanged$/m);
  assert.match(r.stdout, /^counter: deployed v2 \(code changed\)$/m);
  assert.match(r.stdout, /^counter@stable: v1 -> v2$/m);
  assert.match(r.stdout, /^counter@canary: v1=100 -> v2=100$/m);
  assert.equal((await cli('invoke', 'counter@stable')).stdout, 'counted v2');
});

test('an OpenFaaS stack.yml as its users write it: handler, environment, limits and scale labels map', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-stack-'));
  try {
    await mkdir(join(dir, 'hello-stack'));
    await writeFile(join(dir, 'hello-stack', 'index.js'), `export default () => process.env.MSG;\n`);
    await writeFile(join(dir, 'hello-stack', 'package.json'), '{"type":"module"}');
    await writeFile(join(dir, 'hello-stack', 'ferry.json'), JSON.stringify({ runtime: 'node', handler: 'index.js' }));
    const stack = [
      'version: 1.0',
      'provider:',
      '  name: openfaas',
      '  gateway: http://127.0.0.1:8080',
      'functions:',
      '  hello-stack:',
      '    lang: node20',
      '    handler: ./hello-stack',
      '    image: hello-stack:latest',
      '    environment:',
      '      MSG: from a stack',
      '    limits:',
      '      memory: 160Mi',
      '    labels:',
      '      com.openfaas.scale.max: "4"',
      '      team: blue',
      '',
    ].join('\n');
    await writeFile(join(dir, 'stack.yml'), stack);
    let r = await runCli(['up'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: dir, timeoutMs: 120_000 });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^hello-stack: deployed v1 \(new function\)$/m);
    assert.equal((await cli('invoke', 'hello-stack')).stdout, 'from a stack');
    const v = JSON.parse((await cli('versions', 'get', 'hello-stack', 'v1', '--json')).stdout) as { config: { limits: { memoryMb: number }; scaling: { maxInstances: number } }; manifest: { labels: Record<string, string> } };
    assert.deepEqual([v.config.limits.memoryMb, v.config.scaling.maxInstances, v.manifest.labels.team], [160, 4, 'blue']);
    // The same file in JSON form is the same project: nothing to change.
    await writeFile(join(dir, 'stack.yml'), JSON.stringify({ version: 1.0, provider: { name: 'openfaas', gateway: 'http://127.0.0.1:8080' }, functions: { 'hello-stack': { lang: 'node20', handler: './hello-stack', image: 'hello-stack:latest', environment: { MSG: 'from a stack' }, limits: { memory: '160Mi' }, labels: { 'com.openfaas.scale.max': '4', team: 'blue' } } } }));
    r = await runCli(['up'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: dir });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /Nothing changed\./);
    await writeFile(join(dir, 'stack.yml'), 'functions:\n  hello-stack:\n    handler: [./hello-stack\n');
    r = await runCli(['up'], { env: { FERRY_URL: ferry.url, FERRY_TOKEN: ferry.token }, cwd: dir });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /stack\.yml: not valid YAML/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
