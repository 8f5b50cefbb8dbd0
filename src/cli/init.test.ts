import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readManifest } from './commands/deploy.js';
import { init, initRuntimes } from './commands/init.js';
import { CliError } from './errors.js';
import { templatesDir } from './paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'ferry-init-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const examplesDir = join(templatesDir(), '..', 'examples');

describe('templates and examples', () => {
  it('finds the templates folder from the compiled file', () => {
    for (const t of [...initRuntimes, 'node-ts']) assert.ok(existsSync(join(templatesDir(), t, 'ferry.json')), t);
  });

  it('ships valid manifests whose handler or command file exists', () => {
    const folders = [
      ...[...initRuntimes, 'node-ts'].map((t) => join(templatesDir(), t)),
      ...readdirSync(examplesDir).map((e) => join(examplesDir, e)),
    ];
    assert.ok(folders.length >= 11);
    for (const dir of folders) {
      const m = readManifest(dir);
      if (typeof m.handler === 'string') assert.ok(existsSync(join(dir, m.handler.split(':')[0]!)), `${dir}: ${m.handler}`);
      if (Array.isArray(m.command)) {
        const entry = String(m.command[0] === 'node' ? m.command[1] : m.command[0]);
        const file = join(dir, entry);
        assert.ok(existsSync(file), `${dir}: ${entry}`);
        if (m.command[0] !== 'node') assert.ok((statSync(file).mode & 0o111) !== 0, `${file} is executable`);
      }
      if (m.runtime === 'node' || m.runtime === 'http') {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: string };
        assert.equal(pkg.type, 'module', `${dir}/package.json`);
      }
    }
    for (const e of readdirSync(examplesDir)) assert.ok(existsSync(join(examplesDir, e, 'README.md')), `${e}/README.md`);
  });
});

describe('init', () => {
  it('copies the template into a new folder', () => {
    const dir = join(tmp, 'a', 'hello');
    const r = init({ dir, runtime: 'node' });
    assert.equal(r.template, 'node');
    assert.deepEqual(r.files, ['ferry.json', 'index.js', 'package.json']);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'ferry.json'), 'utf8')), { runtime: 'node', handler: 'index.js' });
  });

  it('uses node-ts with --typescript', () => {
    const r = init({ dir: join(tmp, 'ts'), runtime: 'node', typescript: true });
    assert.equal(r.template, 'node-ts');
    assert.ok(r.files.includes('index.ts'));
    assert.throws(() => init({ dir: join(tmp, 'py-ts'), runtime: 'python', typescript: true }), CliError);
  });

  it('keeps run.sh executable', () => {
    const dir = join(tmp, 'ex');
    init({ dir, runtime: 'exec' });
    assert.ok((statSync(join(dir, 'run.sh')).mode & 0o111) !== 0);
  });

  it('accepts an empty folder and refuses a non-empty one or a file', () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    init({ dir: empty, runtime: 'python' });
    assert.ok(existsSync(join(empty, 'main.py')));

    const full = join(tmp, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    assert.throws(() => init({ dir: full, runtime: 'http' }), /not empty/);
    assert.deepEqual(readdirSync(full), ['keep.txt']);

    const file = join(tmp, 'file');
    writeFileSync(file, '');
    assert.throws(() => init({ dir: file, runtime: 'node' }), /not a directory/);
  });

  it('rejects an unknown runtime', () => {
    assert.throws(() => init({ dir: join(tmp, 'x'), runtime: 'ruby' as 'node' }), CliError);
  });
});

describe('readManifest', () => {
  it('explains a missing or broken ferry.json', () => {
    const dir = join(tmp, 'm');
    mkdirSync(dir);
    assert.throws(() => readManifest(dir), /no ferry.json/);
    writeFileSync(join(dir, 'ferry.json'), '{"runtime": "node",');
    assert.throws(() => readManifest(dir), /not valid JSON/);
    writeFileSync(join(dir, 'ferry.json'), '[]');
    assert.throws(() => readManifest(dir), /JSON object/);
    writeFileSync(join(dir, 'ferry.json'), '{"runtime":"ruby"}');
    assert.throws(() => readManifest(dir), /runtime/);
    assert.throws(() => readManifest(join(tmp, 'nope')), /not a directory/);
  });
});
