/**
 * `ferry tinyfaas` with every endpoint on, as tinyFaaS starts by default: the upload's answer
 * lists the CoAP, HTTP and gRPC endpoints as tinyFaaS prints them, and a function uploaded by
 * tinyFaaS's own script answers over each, through clients Ferry did not write (the `coap`
 * package and libcoap's coap-client for CoAP, @grpc/grpc-js with tinyFaaS's .proto for gRPC);
 * gRPC metadata reaches the function as request headers, as HTTP headers do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { disposeTinyFerry, freePort, startTinyFerry } from './support/tinyfaas.js';
import { GrpcClients } from './support/grpc-clients.js';
import { coapPackageCall, freeUdpPort, libcoapClientOf } from './frontends/coap-clients.js';


test('ferry tinyfaas: a function answers over HTTP, CoAP and gRPC alike', async (t) => {
  const [httpPort, coapPort, grpcPort] = [await freePort(), await freeUdpPort(), await freePort()];
  const f = await startTinyFerry({ env: { HTTP_PORT: String(httpPort), COAP_PORT: String(coapPort), GRPC_PORT: String(grpcPort) } });
  t.after(() => disposeTinyFerry(f));
  const grpc = new GrpcClients(grpcPort);
  t.after(() => grpc.close());

  // The answer names every endpoint that is on, as tinyFaaS prints them.
  const lines = (await f.script('upload.sh', 'fns/echo-js', 'EchoJs', 'nodejs', '1')).split('\n').filter(Boolean).sort();
  assert.deepEqual(lines, [`coap://:${coapPort}/EchoJs`, `grpc://:${grpcPort}/EchoJs`, `http://:${httpPort}/EchoJs`]);
  await f.script('upload.sh', 'fns/show-headers-js', 'headersjs', 'nodejs', '1');
  await f.script('upload.sh', 'fns/show-headers', 'headerspy', 'python3', '1');

  await t.test('echo over HTTP, CoAP (coap package, libcoap) and gRPC, under its tinyFaaS spelling', async () => {
    const http = await fetch(`http://127.0.0.1:${httpPort}/EchoJs`, { method: 'POST', body: 'over http' });
    assert.equal(await http.text(), 'over http');
    const coap = await coapPackageCall('127.0.0.1', coapPort, { function: 'EchoJs', method: 'POST', path: '/', headers: {}, body: Buffer.from('over coap') });
    assert.deepEqual([coap.code, coap.payload.toString()], ['2.05', 'over coap']);
    const libcoap = await libcoapClientOf(() => '::1', () => coapPort).call({ function: 'EchoJs', method: 'POST', path: '/', headers: {}, body: Buffer.from('over libcoap') });
    assert.deepEqual([libcoap.status, libcoap.body.toString()], [200, 'over libcoap']);
    const g = await grpc.request({ functionIdentifier: 'EchoJs', data: 'over grpc' });
    assert.equal(g.code, 0, g.details);
    assert.equal(g.value!.response, 'over grpc');
  });

  await t.test('show-headers in node and python: gRPC metadata arrives as HTTP headers do', async () => {
    const js = await grpc.request({ functionIdentifier: 'headersjs', data: 'x' }, { metadata: { lab: 'lab-g', 'x-other': 'o' } });
    assert.equal(js.code, 0, js.details);
    const jsHeaders = JSON.parse(js.value!.response) as Record<string, string>;
    assert.equal(jsHeaders.lab, 'lab-g');
    assert.equal(jsHeaders['x-other'], 'o');
    const py = await grpc.request({ functionIdentifier: 'headerspy', data: 'x' }, { metadata: { lab: 'lab-p' } });
    assert.equal(py.code, 0, py.details);
    const pyHeaders = JSON.parse(py.value!.response) as Record<string, string>;
    assert.equal(pyHeaders.Lab, 'lab-p', 'python sees canonical header names');
    assert.match(pyHeaders['User-Agent'] ?? '', /grpc/);
    const viaHttp = JSON.parse(await (await fetch(`http://127.0.0.1:${httpPort}/headerspy`, { method: 'POST', body: 'x', headers: { lab: 'lab-h' } })).text()) as Record<string, string>;
    assert.equal(viaHttp.Lab, 'lab-h');
  });

  await t.test('an unknown function over each', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/nothere`, { method: 'POST' })).status, 404);
    assert.equal((await coapPackageCall('127.0.0.1', coapPort, { function: 'nothere', method: 'POST', path: '/', headers: {} })).code, '4.04');
    assert.equal((await grpc.request({ functionIdentifier: 'nothere', data: 'x' })).code, 5, 'NOT_FOUND');
  });
});
