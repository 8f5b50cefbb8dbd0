import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { serverSettings } from './options.js';

const dir = new URL('../../../contrib/systemd/', import.meta.url);
const units = readdirSync(dir).filter((n) => n.endsWith('.service'));
const flags = new Map(serverSettings.map((s) => [s.flag, s]));

test('contrib/systemd has the gateway and worker units', () => {
  assert.deepEqual(units.sort(), ['ferry-gateway.service', 'ferry-worker.service']);
});

test("each unit's ExecStart names only real settings, each with a value where it takes one", () => {
  for (const unit of units) {
    const exec = /^ExecStart=(.*)$/m.exec(readFileSync(new URL(unit, dir), 'utf8'))?.[1];
    assert.ok(exec, `${unit} has an ExecStart`);
    const words = exec.split(/\s+/);
    assert.equal(words[words.indexOf('server') - 1]?.endsWith('main.js'), true, `${unit} runs ferry server`);
    const role = words[words.indexOf('--role') + 1];
    assert.equal(unit, `ferry-${role}.service`, `${unit} runs the role it is named after`);
    for (let i = words.indexOf('server') + 1; i < words.length; i++) {
      const w = words[i]!;
      assert.ok(w.startsWith('--'), `${unit}: '${w}' is not a --setting`);
      const s = flags.get(w);
      assert.ok(s, `${unit}: ${w} is not a setting of ferry server`);
      if (s.kind !== 'bool') assert.ok(words[++i] !== undefined && !words[i]!.startsWith('--'), `${unit}: ${w} needs a value`);
    }
  }
});
