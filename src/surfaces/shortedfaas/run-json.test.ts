import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accepted, parseRunJson, splitArguments } from './run-json.js';

test('arguments split as sh splits words, with nothing expanded', () => {
  assert.deepEqual(splitArguments('.'), ['.']);
  assert.deepEqual(splitArguments('  -e  .ok '), ['-e', '.ok']);
  assert.deepEqual(splitArguments(`-c 'echo $HOME; ls *' "a \\"b\\" $x" c\\ d`), ['-c', 'echo $HOME; ls *', 'a "b" $x', 'c d']);
  assert.deepEqual(splitArguments("''"), ['']);
  assert.deepEqual(splitArguments(''), []);
  assert.throws(() => splitArguments("'open"), { code: 'invalid-manifest' });
  assert.throws(() => splitArguments('"open'), { code: 'invalid-manifest' });
});

test("the seed's two samples parse; bad ones name the key", () => {
  assert.deepEqual(parseRunJson('{ "type":"executable", "language":"x86-64", "command":"jq", "arguments":"."}'), {
    type: 'executable', language: 'x86-64', command: 'jq', arguments: ['.'], accepts: [], scaling: {}, recordPayloads: false,
  });
  assert.equal(parseRunJson('{ "type":"interpreted", "language":"python", "command":"python", "arguments":"lambda.py"}').arguments[0], 'lambda.py');
  assert.deepEqual(parseRunJson('{"type":"executable","command":"x","mode":"scalable","min":2,"max":5}').scaling, { minInstances: 2, maxInstances: 5 });
  assert.deepEqual(parseRunJson('{"type":"executable","command":"x","mode":"hot"}').scaling, { minInstances: 1 });
  assert.deepEqual(parseRunJson('{"type":"executable","command":"x","mode":"cold"}').scaling, { mode: 'cold' });
  for (const [text, says] of [
    ['{ not json', /not JSON/],
    ['[]', /JSON object/],
    ['{"type":"script","command":"x"}', /type/],
    ['{"type":"executable","command":""}', /command/],
    ['{"type":"executable","command":"x","arguments":["."]}', /arguments/],
    ['{"type":"executable","command":"x","comand":"y"}', /unknown key 'comand'/],
    ['{"type":"executable","command":"x","accepts":"text/plain"}', /accepts/],
    ['{"type":"executable","command":"x","mode":"lukewarm"}', /mode/],
    ['{"type":"executable","command":"x","mode":"warm","min":1}', /min and max/],
  ] as const) {
    assert.throws(() => parseRunJson(text), (err: Error & { code?: string }) => err.code === 'invalid-manifest' && says.test(err.message), text);
  }
});

test('accepts: exact types, type/*, parameters ignored, an empty list takes anything', () => {
  assert.equal(accepted([], undefined), true);
  assert.equal(accepted(['application/json'], 'application/json; charset=utf-8'), true);
  assert.equal(accepted(['text/*'], 'text/csv'), true);
  assert.equal(accepted(['application/json'], 'text/plain'), false);
  assert.equal(accepted(['application/json'], undefined), false);
});
