import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkName, deriveName, formatWeights, normalizePath, parseHeader, parseHeaders, parseTarget, parseWeights } from './args.js';
import { aliasBody, formatTarget } from './commands/aliases.js';
import { invokePath } from './commands/invoke.js';
import { logsPath } from './commands/logs.js';
import { CliError } from './errors.js';

const usage = (fn: () => unknown): void => {
  assert.throws(fn, (e: unknown) => e instanceof CliError && e.exitCode === 2);
};

describe('names', () => {
  it('derives the function name from the folder, lowercased', () => {
    assert.equal(deriveName('/tmp/x/Hello-World'), 'hello-world');
    assert.equal(deriveName('examples/hello-node/'), 'hello-node');
    assert.equal(deriveName('.', 'explicit'), 'explicit');
  });
  it('refuses folder names that are not function names', () => {
    usage(() => deriveName('/tmp/my_function'));
    usage(() => deriveName('/tmp/-dash'));
    usage(() => deriveName('/tmp/x', 'Bad'));
    usage(() => deriveName('/tmp/' + 'a'.repeat(64)));
    assert.equal(deriveName('/tmp/' + 'a'.repeat(63)), 'a'.repeat(63));
  });
  it('rejects reserved alias names', () => {
    usage(() => checkName('alias', 'latest'));
    usage(() => checkName('alias', 'v12'));
    assert.equal(checkName('alias', 'prod'), 'prod');
    assert.equal(checkName('version', 'v12'), 'v12');
  });
  it('parses name@ref targets', () => {
    assert.deepEqual(parseTarget('hello'), { name: 'hello', ref: undefined });
    assert.deepEqual(parseTarget('hello@v2'), { name: 'hello', ref: 'v2' });
    assert.deepEqual(parseTarget('hello@latest'), { name: 'hello', ref: 'latest' });
    usage(() => parseTarget('hello@'));
    usage(() => parseTarget('Hello'));
    usage(() => parseTarget('a/b'));
  });
});

describe('headers', () => {
  it("parses 'K: V'", () => {
    assert.deepEqual(parseHeader('Content-Type: application/json'), ['Content-Type', 'application/json']);
    assert.deepEqual(parseHeader('X-A:b:c'), ['X-A', 'b:c']);
    assert.deepEqual(parseHeader('X-Empty:'), ['X-Empty', '']);
    assert.deepEqual(parseHeader('  X-Pad  :   v  '), ['X-Pad', 'v']);
  });
  it('rejects malformed headers', () => {
    usage(() => parseHeader('NoColon'));
    usage(() => parseHeader(': value'));
    usage(() => parseHeader('Bad Name: v'));
  });
  it('joins repeated names', () => {
    assert.deepEqual(parseHeaders(['Accept: a', 'accept: b', 'X: 1']), { Accept: 'a, b', X: '1' });
  });
});

describe('weights', () => {
  it('parses v1=90,v2=10', () => {
    assert.deepEqual(parseWeights('v1=90,v2=10'), { v1: 90, v2: 10 });
    assert.deepEqual(parseWeights(' v1 = 50 , v2=50 ,'), { v1: 50, v2: 50 });
    assert.equal(formatWeights({ v1: 90, v2: 10 }), 'v1=90,v2=10');
  });
  it('rejects bad weights', () => {
    for (const bad of ['', 'v1', 'v1=', 'v1=-1', 'v1=1.5', 'v1=x', 'v1=50,v1=50', 'V1=10', 'v1=0,v2=0']) usage(() => parseWeights(bad));
  });
  it('builds the alias body from a version or weights', () => {
    assert.deepEqual(aliasBody('v3', undefined), { version: 'v3' });
    assert.deepEqual(aliasBody(undefined, 'v1=90,v2=10'), { weights: { v1: 90, v2: 10 } });
    usage(() => aliasBody(undefined, undefined));
    usage(() => aliasBody('v1', 'v1=100'));
  });
  it('formats alias targets', () => {
    assert.equal(formatTarget('v3'), 'v3');
    assert.equal(formatTarget({ version: 'v3' }), 'v3');
    assert.equal(formatTarget({ weights: { v1: 90, v2: 10 } }), 'v1=90,v2=10');
  });
});

describe('paths', () => {
  it('builds invocation paths', () => {
    assert.equal(invokePath('hello'), '/fn/hello');
    assert.equal(invokePath('hello@prod', '/a/b?x=1'), '/fn/hello@prod/a/b?x=1');
    assert.equal(invokePath('hello', 'sub'), '/fn/hello/sub');
    assert.equal(normalizePath('?q=1'), '?q=1');
    assert.equal(normalizePath(undefined), '');
  });
  it('builds log paths', () => {
    assert.equal(logsPath({ name: 'hello' }), '/v1/functions/hello/logs');
    assert.equal(logsPath({ name: 'hello', follow: true, version: 'v2' }), '/v1/functions/hello/logs?version=v2&follow=1');
  });
});
