// The seam for front ends of other protocols (src/frontends/frontend.ts): the server starts each
// one that is on with the pipeline, lists where it listens, closes it when it drains, and a front
// end that cannot start stops the server's start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { FrontEnd, FrontEndFactory } from '../src/frontends/index.js';
import { MemoryWriter } from '../src/service/index.js';
import { startInProcess } from './support/in-process.js';

test('a registered front end gets the pipeline, is listed, and is closed when the server drains', async () => {
  const events: string[] = [];
  let frontEnd: (FrontEnd & { call(fn: string): Promise<string> }) | undefined;
  const probe: FrontEndFactory = async (ctx) => {
    events.push(`start on ${ctx.options.host}`);
    return (frontEnd = {
      name: 'probe',
      urls: ['probe://here:1'],
      async call(fn) {
        const writer = new MemoryWriter(1024 * 1024);
        const out = await ctx.invoke({ function: fn, ref: undefined, method: 'POST', path: '/x?y=1', headers: ['x-probe', 'p1'], body: undefined, bodyLength: 0, requestId: undefined, credential: undefined, principal: undefined, deadline: undefined, mode: 'sync' }, writer);
        return `${out.status} ${writer.body().toString()}`;
      },
      async close(drainMs) {
        events.push(`close ${drainMs}`);
      },
    });
  };
  const off: FrontEndFactory = async () => undefined;
  const ferry = await startInProcess({ drainTimeoutMs: 1234 }, { frontEnds: new Map([['probe', probe], ['off', off]]) });
  try {
    assert.deepEqual(ferry.server.frontEnds, [{ name: 'probe', urls: ['probe://here:1'] }]);
    await ferry.deploy('fe-echo', {
      'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.mjs' }),
      'index.mjs': `export default (req) => new Response(req.method + ' ' + new URL(req.url).pathname + new URL(req.url).search + ' ' + req.headers.get('x-probe'));`,
    });
    assert.equal(await frontEnd!.call('fe-echo'), '200 POST /x?y=1 p1');
    assert.match(await frontEnd!.call('fe-nothing'), /^404 /);
  } finally {
    await ferry.close();
  }
  assert.deepEqual(events, ['start on 127.0.0.1', 'close 1234']);
});

test('a front end that cannot start stops the start, naming it, and leaves nothing open', async () => {
  const before = (await readdir(tmpdir())).filter((n) => n.startsWith('ferry-inproc-')).length;
  const broken: FrontEndFactory = async () => {
    throw new Error('listen EADDRINUSE: address already in use :::5683');
  };
  await assert.rejects(startInProcess({}, { frontEnds: new Map([['broken', broken]]) }), /front end broken: listen EADDRINUSE/);
  // startInProcess removes its data dir when the start fails: the server released everything.
  assert.equal((await readdir(tmpdir())).filter((n) => n.startsWith('ferry-inproc-')).length, before);
});
