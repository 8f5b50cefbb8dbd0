/** Conformance tests of per-function objects (`store.objects`). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ObjectPutOptions } from '../../core/objects.js';
import { fnRecord, rejectsWith, withStore, type OpenStore } from './fixtures.js';

const opts = (over: Partial<ObjectPutOptions> = {}): ObjectPutOptions => ({ contentType: 'text/plain', maxBytes: 1 << 20, quotaBytes: 0, now: 1000, ...over });
const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

async function* chunks(...parts: Array<string | Buffer>): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function read(body: Readable): Promise<string> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(c as Buffer);
  return Buffer.concat(out).toString();
}

export function objectTests(open: OpenStore): void {
  const run = withStore(open);

  describe('objects', () => {
    it('put streams in, get streams out; a second put replaces and keeps createdAt', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        const first = await s.objects.put('f', 'a/b.txt', chunks('hello ', 'world'), opts());
        assert.equal(first.created, true);
        assert.deepEqual(first.record, { function: 'f', key: 'a/b.txt', sha256: sha('hello world'), size: 11, contentType: 'text/plain', createdAt: 1000, updatedAt: 1000 });
        const got = await s.objects.get('f', 'a/b.txt');
        assert.deepEqual(got?.record, first.record);
        assert.equal(await read(got!.body), 'hello world');
        const second = await s.objects.put('f', 'a/b.txt', chunks('bye'), opts({ contentType: 'application/x-bye', now: 2000 }));
        assert.equal(second.created, false);
        assert.deepEqual(await s.objects.head('f', 'a/b.txt'), { ...first.record, sha256: sha('bye'), size: 3, contentType: 'application/x-bye', updatedAt: 2000 });
        assert.equal(await s.objects.head('f', 'nope'), undefined);
        assert.equal(await s.objects.get('f', 'nope'), undefined);
      }));

    it('an empty object is an object', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        assert.equal((await s.objects.put('f', 'empty', chunks(), opts())).record.size, 0);
        assert.equal(await read((await s.objects.get('f', 'empty'))!.body), '');
      }));

    it('a reader keeps the content it opened while a put replaces it', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.objects.put('f', 'k', chunks('old content'), opts());
        const got = await s.objects.get('f', 'k');
        await s.objects.put('f', 'k', chunks('new'), opts());
        await s.objects.delete('f', 'k');
        assert.equal(await read(got!.body), 'old content');
      }));

    it('over maxBytes fails and leaves the previous object; quota counts the other keys', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.objects.put('f', 'k', chunks('12345'), opts());
        await rejectsWith(s.objects.put('f', 'k', chunks('1234', '5678'), opts({ maxBytes: 6 })), 'object-too-large');
        assert.equal(await read((await s.objects.get('f', 'k'))!.body), '12345');
        await rejectsWith(s.objects.put('f', 'other', chunks('123456'), opts({ quotaBytes: 10 })), 'quota-exceeded');
        // Replacing k counts its new size, not old + new.
        await s.objects.put('f', 'k', chunks('1234567890'), opts({ quotaBytes: 10 }));
        assert.deepEqual(await s.objects.usage('f'), { objects: 1, bytes: 10 });
      }));

    it('put for a function that does not exist is function-not-found', () =>
      run(async (s) => {
        await rejectsWith(s.objects.put('ghost', 'k', chunks('x'), opts()), 'function-not-found');
      }));

    it('list: by prefix, in byte order, paged by after and limit; functions apart', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.ensureFunction(fnRecord('g'));
        for (const k of ['b/2', 'a/1', 'a/2', 'a/10', 'ab', 'a/ü', 'a', 'a/\u{10FFFF}x', '\u{10FFFF}']) await s.objects.put('f', k, chunks(k), opts());
        await s.objects.put('g', 'a/1', chunks('g'), opts());
        const keys = async (prefix: string, after = '', limit = 100) => (await s.objects.list('f', { prefix, after, limit })).map((r) => r.key);
        assert.deepEqual(await keys(''), ['a', 'a/1', 'a/10', 'a/2', 'a/ü', 'a/\u{10FFFF}x', 'ab', 'b/2', '\u{10FFFF}']);
        assert.deepEqual(await keys('a/'), ['a/1', 'a/10', 'a/2', 'a/ü', 'a/\u{10FFFF}x']);
        assert.deepEqual(await keys('a/', '', 2), ['a/1', 'a/10']);
        assert.deepEqual(await keys('a/', 'a/10', 2), ['a/2', 'a/ü']);
        assert.deepEqual(await keys('a/', 'a/\u{10FFFF}x', 2), []);
        assert.deepEqual(await keys('a/ü'), ['a/ü']);
        assert.deepEqual(await keys('\u{10FFFF}'), ['\u{10FFFF}']);
        assert.deepEqual(await keys('zzz'), []);
        assert.deepEqual(await keys('', '', 0), []);
        assert.deepEqual((await s.objects.list('g', { prefix: '', after: '', limit: 10 })).map((r) => r.key), ['a/1']);
      }));

    it('delete answers whether there was one; deleting the function deletes its objects', () =>
      run(async (s) => {
        await s.ensureFunction(fnRecord('f'));
        await s.objects.put('f', 'k', chunks('x'), opts());
        await s.objects.put('f', 'j', chunks('y'), opts());
        assert.equal(await s.objects.delete('f', 'k'), true);
        assert.equal(await s.objects.delete('f', 'k'), false);
        await s.deleteFunction('f');
        assert.deepEqual(await s.objects.usage('f'), { objects: 0, bytes: 0 });
        await s.ensureFunction(fnRecord('f'));
        assert.equal(await s.objects.head('f', 'j'), undefined, 'a function of the same name starts empty');
      }));
  });
}
