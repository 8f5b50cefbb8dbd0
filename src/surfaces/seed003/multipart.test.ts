import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_FORM_PARTS, parseFormData } from './multipart.js';

test('form data: fields and files by name, bodies byte for byte, the first of a repeated name', async () => {
  const form = new FormData();
  form.set('name', 'hello');
  form.append('file', new Blob([new Uint8Array([0, 13, 10, 45, 45, 255])], { type: 'application/x-docker-archive' }), 'image.tar');
  form.append('file', new Blob(['second']), 'other');
  const req = new Request('http://x/', { method: 'POST', body: form });
  const parts = parseFormData(req.headers.get('content-type')!, Buffer.from(await req.arrayBuffer()));
  assert.equal(parts.get('name')!.body.toString(), 'hello');
  const file = parts.get('file')!;
  assert.deepEqual([file.filename, file.contentType, [...file.body]], ['image.tar', 'application/x-docker-archive', [0, 13, 10, 45, 45, 255]]);
});

test('form data: anything else is invalid-body', () => {
  const bad = (type: string, body: string) => assert.throws(() => parseFormData(type, Buffer.from(body)), (e: { code?: string }) => e.code === 'invalid-body');
  bad('application/json', '{}');
  bad('multipart/form-data', '--x\r\n');
  bad('multipart/form-data; boundary=x', 'no delimiter');
  bad('multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated');
  bad('multipart/form-data; boundary=x', '--x\r\nContent-Type: text/plain\r\n\r\nv\r\n--x--');
});

test('form data: more parts than a form of this API has, or a part with endless headers, is invalid-body', () => {
  const part = (name: string) => `--x\r\nContent-Disposition: form-data; name="${name}"\r\n\r\nv\r\n`;
  const form = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => part(`f${i}`)).join('') + '--x--\r\n');
  assert.equal(parseFormData('multipart/form-data; boundary=x', form(MAX_FORM_PARTS)).size, MAX_FORM_PARTS);
  assert.throws(() => parseFormData('multipart/form-data; boundary=x', form(MAX_FORM_PARTS + 1)), /more than 32 parts/);
  const longHead = Buffer.from(`--x\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: ${'p'.repeat(9000)}\r\n\r\nv\r\n--x--\r\n`);
  assert.throws(() => parseFormData('multipart/form-data; boundary=x', longHead), /within 8192 bytes/);
});
