// CallHeaders against the `Headers` it stands for: every read, change and hand-over must give what
// `new Headers(...)` of the same request headers gives.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { CallHeaders } from './call-headers.js';

const lists: Record<string, string[]> = {
  empty: [],
  plain: ['Host', 'example.test', 'X-Name', 'n1-1', 'Accept', '*/*'],
  repeats: ['Accept', 'text/html', 'accept', 'application/json', 'Cookie', 'a=1', 'COOKIE', 'b=2', 'Set-Cookie', 's=1', 'set-cookie', 't=2'],
  odd: ['X-Only', 'v', 'X-Dangling'],
};

/** What `new Headers(...)` holds for the same list (as the stand-in Request built it before). */
function reference(flat: string[]): Headers {
  const h = new Headers();
  for (let i = 0; i < flat.length - 1; i += 2) h.append(flat[i]!.toLowerCase(), flat[i + 1]!);
  return h;
}

type Iterating = { entries(): Iterable<unknown>; keys(): Iterable<unknown>; values(): Iterable<unknown>; [Symbol.iterator](): Iterator<[string, string]> };
const it = (h: Headers): Iterating => h as unknown as Iterating;

const entries = (h: Headers): string[][] => {
  const out: string[][] = [];
  h.forEach((value, name) => out.push([name, value]));
  return out;
};

function thrown(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return `${(err as Error).constructor.name}: ${(err as Error).message}`;
  }
}

describe('CallHeaders', () => {
  for (const [label, flat] of Object.entries(lists)) {
    test(`${label}: get and has answer as Headers does, before and after it fills`, () => {
      const names = ['host', 'HOST', 'x-name', 'X-Name', 'accept', 'cookie', 'set-cookie', 'x-only', 'x-dangling', 'missing'];
      const h = new CallHeaders(flat);
      const ref = reference(flat);
      for (const n of names) {
        assert.equal(h.get(n), ref.get(n), `get ${n}`);
        assert.equal(h.has(n), ref.has(n), `has ${n}`);
      }
      assert.deepEqual(entries(h), entries(ref));
      for (const n of names) assert.equal(h.get(n), ref.get(n), `get ${n} after filling`);
    });

    test(`${label}: iteration, keys, values, set-cookie and inspection`, () => {
      const ref = reference(flat);
      assert.deepEqual([...new CallHeaders(flat)], [...(it(ref) as unknown as Iterable<unknown>)]);
      assert.deepEqual([...new CallHeaders(flat).entries()], [...it(ref).entries()]);
      assert.deepEqual([...new CallHeaders(flat).keys()], [...it(ref).keys()]);
      assert.deepEqual([...new CallHeaders(flat).values()], [...it(ref).values()]);
      assert.deepEqual(new CallHeaders(flat).getSetCookie(), ref.getSetCookie());
      assert.equal(inspect(new CallHeaders(flat)), inspect(ref));
      assert.deepEqual(Object.fromEntries(new CallHeaders(flat)), Object.fromEntries(it(ref) as unknown as Iterable<[string, string]>));
    });

    test(`${label}: changes apply to the whole list`, () => {
      const h = new CallHeaders(flat);
      const ref = reference(flat);
      for (const x of [h, ref]) {
        x.set('x-name', 'changed');
        x.append('accept', 'text/plain');
        x.delete('host');
      }
      assert.deepEqual(entries(h), entries(ref));
      assert.equal(h.get('x-name'), 'changed');
      assert.equal(h.get('host'), null);
    });

    test(`${label}: a Request or Response built with it carries every header`, () => {
      const ref = reference(flat);
      assert.deepEqual(entries(new Request('http://x.test/', { headers: new CallHeaders(flat) }).headers), entries(new Request('http://x.test/', { headers: ref }).headers));
      assert.deepEqual(entries(new Response('x', { headers: new CallHeaders(flat) }).headers), entries(new Response('x', { headers: ref }).headers));
      assert.deepEqual(entries(new Headers(new CallHeaders(flat))), entries(ref));
    });
  }

  test('is a Headers, and refuses an invalid name with the error Headers gives', () => {
    const h = new CallHeaders(lists.plain!);
    assert.ok(h instanceof Headers);
    assert.equal(Object.prototype.toString.call(h), '[object Headers]');
    for (const bad of ['bad name', '', 'x\n']) {
      assert.equal(thrown(() => h.get(bad)), thrown(() => new Headers().get(bad)));
      assert.equal(thrown(() => h.has(bad)), thrown(() => new Headers().has(bad)));
    }
    assert.equal(h.get('x-name'), 'n1-1', 'an error left the list untouched');
  });
});
