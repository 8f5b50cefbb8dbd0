/**
 * What a server at rest keeps out of memory until it is needed (docs/performance.md, "Idle
 * cost"): the real `ferry server`, default settings but `--pool-size 0`, with a preload that
 * reports every module the process loaded (test/support/loaded-modules.ts). No timing or memory
 * figure is asserted: the modules are the contract.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFerry, disposeFerry, packFiles, repoRoot, type Ferry } from './support/ferry.js';
import { makeZip } from './support/archive-writers.js';

const preload = join(repoRoot, 'dist/test/support/loaded-modules.js');

/** What only a use loads, and the use that loads it. */
const lazy: Array<{ what: string; module: RegExp }> = [
  { what: 'typescript (a TypeScript upload)', module: /\/node_modules\/typescript\// },
  { what: 'tar (a tar upload)', module: /\/node_modules\/tar\// },
  { what: 'yauzl (a zip upload)', module: /\/node_modules\/yauzl\// },
  { what: 'ajv (a manifest checked)', module: /\/node_modules\/ajv\// },
  { what: 'jose (an access token checked)', module: /\/node_modules\/jose\// },
  { what: 'croner (a schedule put)', module: /\/node_modules\/croner\// },
  { what: "prom-client's default metrics (a scrape)", module: /\/node_modules\/(prom-client\/lib\/defaultMetrics\.js|@opentelemetry\/)/ },
  { what: 'the image importer (an image archive upload)', module: /\/dist\/src\/images\/(image-importer|read-archive|flatten|pull)\.js$/ },
  { what: 'the dashboard (/ui asked for)', module: /\/dist\/src\/surfaces\/ui\/ui-pages\.js$/ },
  { what: 'coap and coap-packet, and the CoAP front end (--coap-port)', module: /\/node_modules\/coap(-packet)?\/|\/dist\/src\/frontends\/coap\/endpoint\.js$/ },
];

/** What a front end that is off unless its setting is given loads only when it is on. */
const frontEndModules: Array<{ what: string; module: RegExp }> = [
  { what: '@grpc/grpc-js, @grpc/proto-loader (--grpc-port)', module: /\/node_modules\/@grpc\// },
];

/**
 * What only a setting other than the default loads: a NATS store (`--store nats://`), a cluster
 * role (`--role`), another sandbox driver or tier (`--driver`, `--sandbox-tiers`).
 */
const settingModules: Array<{ what: string; module: RegExp }> = [
  { what: 'the JetStream queues (--store nats://)', module: /\/dist\/src\/queue\/nats\// },
  { what: 'the JetStream blob store (--store nats://)', module: /\/dist\/src\/blobs\/nats\// },
  { what: 'the NATS login (--store nats://)', module: /\/dist\/src\/server\/nats-login\.js$/ },
  { what: 'the cluster node, its dispatch and node directory (--role, --store nats://)', module: /\/dist\/src\/(cluster|nodes)\/|\/dist\/src\/server\/cluster-node\.js$/ },
  { what: 'the gVisor driver (--sandbox-tiers gvisor)', module: /\/dist\/src\/sandbox\/gvisor\// },
  { what: 'the process driver (--driver process)', module: /\/dist\/src\/sandbox\/process\// },
];

/** Starts a server with the preload, runs `use` against it, stops it, answers what it loaded. */
async function loadedBy(args: string[], use: (ferry: Ferry) => Promise<void>): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-idle-'));
  const report = join(dir, 'loaded.json');
  const ferry = await startFerry({ args: ['--pool-size', '0', ...args], env: { NODE_OPTIONS: `--import=${preload}`, FERRY_TEST_LOADED_MODULES: report } });
  try {
    const health = await fetch(`${ferry.url}/healthz`);
    assert.equal(health.status, 200);
    await use(ferry);
  } finally {
    await disposeFerry(ferry);
  }
  const loaded = JSON.parse(await readFile(report, 'utf8')) as string[];
  await rm(dir, { recursive: true, force: true });
  // The server's own modules are in the report: the preload saw the process it was meant to.
  assert.ok(loaded.some((m) => m.endsWith('/dist/src/server/create-server.js')), 'the report lists the server modules');
  return loaded;
}

test('a server at rest, one /healthz answered, has loaded none of what only a use needs', async () => {
  const loaded = await loadedBy([], async () => {});
  const early = lazy.filter((l) => loaded.some((m) => l.module.test(m))).map((l) => l.what);
  assert.deepEqual(early, [], `loaded at rest: ${early.join(', ')}`);
  const off = frontEndModules.filter((l) => loaded.some((m) => l.module.test(m))).map((l) => l.what);
  assert.deepEqual(off, [], `loaded with their front end off: ${off.join(', ')}`);
  const unset = settingModules.filter((l) => loaded.some((m) => l.module.test(m))).map((l) => l.what);
  assert.deepEqual(unset, [], `loaded without their setting: ${unset.join(', ')}`);
});

test('another sandbox driver loads with the setting that names it', async () => {
  const loaded = await loadedBy(['--driver', 'process', '--unsandboxed'], async () => {});
  assert.ok(loaded.some((m) => /\/dist\/src\/sandbox\/process\/process-driver\.js$/.test(m)), 'the process driver is loaded');
});

test('each of them loads with its first use', async () => {
  // The CoAP front end's use is being on.
  const loaded = await loadedBy(['--coap-port', '0'], async (ferry) => {
    const ts = await packFiles({ 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.ts' }), 'package.json': '{"type":"module"}', 'index.ts': "export default (): string => 'typed';\n" });
    assert.equal((await ferry.api('POST', '/v1/functions/typed/versions', ts, { 'content-type': 'application/gzip' })).status, 201);
    const zip = makeZip([
      { name: 'ferry.json', body: JSON.stringify({ runtime: 'node', handler: 'index.js' }) },
      { name: 'package.json', body: '{"type":"module"}' },
      { name: 'index.js', body: "export default () => 'zipped';\n" },
    ]);
    assert.equal((await ferry.api('POST', '/v1/functions/zipped/versions', zip, { 'content-type': 'application/zip' })).status, 201);
    const jwt = await fetch(`${ferry.url}/v1/functions`, { headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln' } });
    assert.equal(jwt.status, 401);
    assert.equal((await ferry.api('PUT', '/v1/functions/typed/schedules/hourly', { cron: '0 * * * *' })).status, 201);
    assert.equal((await ferry.api('GET', '/metrics')).status, 200);
    // Not an archive at all: the importer loads to find that out.
    const image = await ferry.api('POST', '/v1/functions/imaged/versions', Buffer.from('not a tar'), { 'content-type': 'application/x-docker-archive' });
    assert.equal(image.status, 422, await image.text());
    assert.equal((await fetch(`${ferry.url}/ui/`)).status, 200);
  });
  const missing = lazy.filter((l) => !loaded.some((m) => l.module.test(m))).map((l) => l.what);
  assert.deepEqual(missing, [], `not loaded by their use: ${missing.join(', ')}`);
});

