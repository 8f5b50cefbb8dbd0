import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFormData } from './multipart.js';

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
