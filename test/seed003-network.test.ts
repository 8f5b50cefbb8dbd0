/**
 * The seed-003 contract's `API_BASE_URL` under every network policy: a run reads the object its
 * input named through it with no network (the default), with outbound access (`egress`) and on
 * the host's network (`host`), as the contract says it works whatever the policy.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFerry, disposeFerry, packFiles, type Ferry } from './support/ferry.js';
import { sandboxSupport } from './support/sandbox.js';
import { ALL_INPUTS } from './support/seed003.js';
import { seedClient, type SeedClient } from './support/seed003-client.js';

const support = await sandboxSupport();
const skip = support.ok ? false : `the bwrap sandbox cannot run here: ${support.why}`;

let f: Ferry;
let seed: SeedClient;
before(async () => {
  if (skip) return;
  f = await startFerry({ args: ['--driver', 'bwrap', '--compat', 'seed003', '--registration', 'open', '--allow-host-network'] });
  seed = seedClient(f);
});
after(async () => {
  if (f) await disposeFerry(f);
});

for (const network of ['none', 'egress', 'host'] as const) {
  test(`network ${network}: the run reads the object its input named through API_BASE_URL`, { skip }, async () => {
    const token = await seed.signUp(`net-${network}`);
    const form = new FormData();
    form.set('name', `reader-${network}`);
    form.set('file', new Blob([new Uint8Array(await packFiles({ 'main.py': ALL_INPUTS }))], { type: 'application/gzip' }), 'reader.tar.gz');
    const fn = await seed.call('POST', '/api/functions', token, form);
    assert.equal(fn.status, 201, JSON.stringify(fn.json));
    const id = fn.json.id as string;
    if (network !== 'none') {
      // The manifest override the docs name (`host` needs --allow-host-network and an admin).
      const patched = await f.api('PATCH', `/v1/functions/seed-${id}/versions/v1`, { network });
      assert.equal(patched.status, 200, await patched.text());
    }
    const upload = new FormData();
    upload.set('file', new Blob([`read under ${network}`], { type: 'text/plain' }), 'x.txt');
    assert.equal((await seed.call('POST', `/api/function-objects/${id}/objects/data`, token, upload)).status, 201);
    const done = await seed.execute(token, id, { direct_inputs: {}, object_inputs: { data: `${id}/data` } });
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.deepEqual(JSON.parse(done.output as string), { direct: {}, args: 2, data: `read under ${network}` });
  });
}
