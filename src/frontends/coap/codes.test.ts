import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codes, FerryError, type ErrorCode } from '../../errors/index.js';
import { coapCodeOfError, coapCodeOfStatus } from './codes.js';
import { contentFormatOf, mediaTypeOf } from './content-formats.js';

test('every Ferry error code has a CoAP error code of its HTTP class', () => {
  for (const code of Object.keys(codes) as ErrorCode[]) {
    const coap = coapCodeOfError(new FerryError(code));
    assert.match(coap, /^[45]\.\d\d$/, code);
    assert.equal(coap[0], String(codes[code].status)[0], `${code} (${codes[code].status}) maps to ${coap}`);
  }
  assert.equal(coapCodeOfError(new FerryError('queue-full')), '5.03');
  assert.equal(coapCodeOfError(new FerryError('invoke-timeout')), '5.04');
  assert.equal(coapCodeOfError(new FerryError('unauthorized')), '4.01');
});

test("a function's status maps to the CoAP code of the same meaning", () => {
  const cases: Array<[number, string]> = [[200, '2.05'], [201, '2.01'], [204, '2.05'], [304, '2.03'], [302, '5.02'], [400, '4.00'], [404, '4.04'], [418, '4.00'], [429, '4.29'], [503, '5.03'], [599, '5.00']];
  for (const [status, coap] of cases) assert.equal(coapCodeOfStatus(status), coap, String(status));
});

test('Content-Format numbers and media types map both ways', () => {
  assert.equal(mediaTypeOf(50), 'application/json');
  assert.equal(mediaTypeOf(9999), undefined);
  assert.equal(contentFormatOf('application/json; charset=utf-8'), 50);
  assert.equal(contentFormatOf('text/plain'), 0);
  assert.equal(contentFormatOf('text/plain;charset=UTF-8'), 0);
  assert.equal(contentFormatOf('text/plain; charset=latin1'), undefined);
  assert.equal(contentFormatOf('text/html'), undefined);
  assert.equal(contentFormatOf(undefined), undefined);
});
