// The front-end conformance suite (test/frontends/suite.ts) over HTTP: the /fn surface, with
// Node's fetch as the client.
import { after, before, describe } from 'node:test';
import { disposeFerry, startFerry, type Ferry } from './support/ferry.js';
import { deploySuiteFunctions, frontEndSuite, type FrontEndCall } from './frontends/suite.js';

let ferry: Ferry;
before(async () => {
  ferry = await startFerry();
  await deploySuiteFunctions(ferry, 'h');
});
after(() => disposeFerry(ferry));

const request = (c: FrontEndCall): Promise<Response> =>
  fetch(`${ferry.url}/fn/${c.function}${c.path}`, { method: c.method, headers: c.headers, body: c.body && c.method !== 'GET' ? new Uint8Array(c.body) : undefined });

describe('front end: http', () => {
  frontEndSuite(
    () => ({
      name: 'http',
      async call(c) {
        const res = await request(c);
        return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
      },
      async stream(c) {
        const res = await request(c);
        const chunks: Buffer[] = [];
        const reader = res.body!.getReader();
        for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(Buffer.from(r.value));
        return { status: res.status, chunks };
      },
    }),
    () => 'h',
  );
});
