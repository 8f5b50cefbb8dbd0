// The import rule of docs/architecture.md, enforced: a folder imports only from lower layers,
// never a sibling of its own layer; only server/ names implementations through the registries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { repoRoot } from './support/ferry.js';

const layers: Record<string, number> = {
  util: 0,
  errors: 1,
  config: 2,
  observe: 2,
  core: 3,
  store: 4,
  blobs: 4,
  queue: 4,
  nats: 3.5,
  nodes: 4,
  packages: 4,
  images: 4.25,
  sandbox: 4,
  runtime: 4,
  build: 4,
  scheduler: 4,
  auth: 4,
  service: 4.5,
  rootfs: 4.5,
  cluster: 4.6,
  pipeline: 4.75,
  frontends: 5,
  api: 5,
  surfaces: 5.5,
  server: 6,
  cli: 7,
};

const src = join(repoRoot, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    // Tests and their helpers (test-*.ts) may reach across folders to set things up.
    return p.endsWith('.ts') && !p.endsWith('.test.ts') && !/\/test-[^/]*\.ts$/.test(p) ? [p] : [];
  });
}

const folderOf = (file: string): string => relative(src, file).split('/')[0]!;

test('every src folder has a layer', () => {
  for (const name of readdirSync(src)) {
    if (statSync(join(src, name)).isDirectory()) assert.ok(name in layers, `src/${name} has no layer in docs/architecture.md and this test`);
  }
});

test('imports point only to lower layers (no sibling imports, no cycles between layers)', () => {
  const bad: string[] = [];
  for (const file of files(src)) {
    const from = folderOf(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(src)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      if (!(layers[to]! < layers[from]!)) bad.push(`${relative(repoRoot, file)} imports ${to}/ (layer ${layers[to]}) from ${from}/ (layer ${layers[from]})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('only server/ imports the registries', () => {
  const bad: string[] = [];
  for (const file of files(src)) {
    if (folderOf(file) === 'server') continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from\s+'(\.[^']*registry\.js)'/g)) {
      const own = resolve(dirname(file), m[1]!).startsWith(dirname(file));
      if (!own) bad.push(`${relative(repoRoot, file)} imports ${m[1]}`);
    }
  }
  assert.deepEqual(bad, []);
});
