/**
 * ShortedFaaS's host libraries: functions of the deploy folder see the host's installed language
 * libraries (Debian's python3-yaml and node-semver, from scripts/install-system-deps.sh), a lambda
 * and a full program alike; a native function of a non-admin does not, and may not ask for them.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposeFerry, markSensitive, packFiles, startFerry, type Ferry, type PackageFiles } from './support/ferry.js';
import { expectProblem, until } from './support/helpers.js';

const yamlLambda = 'import yaml\n\ndef handler(input, environment):\n    return yaml.safe_load(input)["name"].upper()\n';
const yamlProgram = 'import sys, yaml\nprint(yaml.safe_load(sys.stdin.read())["name"], end="")\n';
const semverLambda = "const semver = require('semver');\nmodule.exports = (input) => (semver.gt(input, '1.2.3') ? 'newer' : 'older');\n";

async function place(deployDir: string, name: string, files: Record<string, string>): Promise<void> {
  const tmp = await mkdtemp(join(deployDir, '..', 'stage-'));
  for (const [f, text] of Object.entries(files)) await writeFile(join(tmp, f), text);
  await rename(tmp, join(deployDir, name));
}

const yamlProgramFolder = { 'run.json': '{"type":"interpreted","language":"python","command":"python","arguments":"main.py"}', 'main.py': yamlProgram };

/** A fresh deploy folder, removed after the test. */
async function deployFolder(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-shorted-libs-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'deploy'));
  return join(root, 'deploy');
}

test('ShortedFaaS functions import the host libraries; a non-admin native function does not see them, nor may ask', async (t) => {
  const deployDir = await deployFolder(t);
  await place(deployDir, 'yaml-lambda', { 'run.json': '{"type":"interpreted","language":"python","command":"python","arguments":"lambda.py"}', 'lambda.py': yamlLambda });
  await place(deployDir, 'yaml-program', yamlProgramFolder);
  await place(deployDir, 'semver', { 'run.json': '{"type":"interpreted","language":"node","command":"node","arguments":"lambda.js"}', 'lambda.js': semverLambda });
  const f = await startFerry({ args: ['--compat', 'shortedfaas', '--deploy-dir', deployDir] });
  t.after(() => disposeFerry(f));
  await until(async () => {
    const list = (await (await fetch(`${f.url}/list`)).json()) as Array<{ name: string }>;
    return list.length === 3 || undefined;
  }, 90_000, 200);

  const call = async (name: string, body: string): Promise<[number, string]> => {
    const res = await fetch(`${f.url}/f/${name}`, { method: 'POST', body });
    return [res.status, await res.text()];
  };
  assert.deepEqual(await call('yaml-lambda', 'name: ferry\n'), [200, 'FERRY']);
  assert.deepEqual(await call('yaml-program', 'name: boat\n'), [200, 'boat']);
  assert.deepEqual(await call('semver', '2.0.0'), [200, 'newer']);
  assert.deepEqual(await call('semver', '1.0.0'), [200, 'older']);

  // Natively, a non-admin's function has only its own libraries, and may not ask for the host's.
  const password = 'tenant-password-0123';
  markSensitive(password);
  assert.equal((await f.api('POST', '/v1/users', { name: 'tenant', password, groups: ['permission:read', 'permission:write', 'permission:execute'] })).status, 201);
  const token = ((await (await f.api('POST', '/v1/tokens', { user: 'tenant', days: 1 })).json()) as { token: string }).token;
  const deployAs = async (name: string, files: PackageFiles): Promise<Response> =>
    fetch(`${f.url}/v1/functions/${name}/versions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body: Buffer.from(await packFiles(files)) });
  const py = (manifest: Record<string, unknown>): PackageFiles => ({
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', ...manifest }),
    'main.py': 'def handler(request):\n    import yaml\n    return yaml.__name__\n',
  });
  await expectProblem(await deployAs('asks-libs', py({ hostLibraries: true })), 403, 'forbidden', 'hostLibraries as a non-admin');
  const plain = await deployAs('plain-libs', py({}));
  assert.equal(plain.status, 201, await plain.clone().text());
  const res = await fetch(`${f.url}/fn/plain-libs`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 500, 'the import fails: the host site-packages are not on sys.path');
  const js = await deployAs('plain-semver', {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.cjs' }),
    'index.cjs': "module.exports = () => { try { require('semver'); return 'found'; } catch (e) { return e.code; } };\n",
  });
  assert.equal(js.status, 201, await js.clone().text());
  const { version } = (await js.json()) as { version: string };
  assert.equal(await (await fetch(`${f.url}/fn/plain-semver`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).text(), 'MODULE_NOT_FOUND');
  // A PATCH may not add them either.
  await expectProblem(await fetch(`${f.url}/v1/functions/plain-semver/versions/${version}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"hostLibraries":true}' }), 403, 'forbidden', 'PATCH hostLibraries');
});

test('--shortedfaas-own-libraries-only: the folder redeploys at start without the host libraries', async (t) => {
  const deployDir = await deployFolder(t);
  await place(deployDir, 'yaml-program', yamlProgramFolder);
  const args = ['--compat', 'shortedfaas', '--deploy-dir', deployDir];
  const latest = async (f: Ferry): Promise<{ version: string; manifest: Record<string, unknown> } | undefined> => {
    const res = await f.api('GET', '/v1/functions/yaml-program/versions');
    if (res.status !== 200) return void (await res.body?.cancel());
    return ((await res.json()) as { versions: Array<{ version: string; manifest: Record<string, unknown> }> }).versions.at(-1);
  };
  let f = await startFerry({ args });
  const first = await until(() => latest(f), 60_000, 200);
  assert.equal(first?.manifest.hostLibraries, true);
  assert.equal(await (await fetch(`${f.url}/f/yaml-program`, { method: 'POST', body: 'name: a\n' })).text(), 'a');
  const dataDir = f.dataDir;
  await f.stop();

  // The same folder, unchanged, under the other setting: deployed again, without them.
  f = await startFerry({ args: [...args, '--shortedfaas-own-libraries-only'], dataDir });
  t.after(() => disposeFerry(f));
  const second = await until(async () => {
    const v = await latest(f);
    return v && v.version !== first!.version ? v : undefined;
  }, 60_000, 200);
  assert.ok(second, 'a new version once the setting changed');
  assert.equal(second.manifest.hostLibraries, undefined);
  // (What a program's own interpreter finds without -S, e.g. its own site-packages, it still finds.)
});
