// Busybox container images for bench/images.mjs, built with no container daemon and no network:
// a root file system of the host's static busybox (Debian's busybox-static) written to a scratch
// directory, packed with the `tar` package into one layer, and wrapped as a `docker save` archive
// (the layout Docker wrote before version 25: `<config hex>.json`, `layer0/layer.tar`,
// `manifest.json`), whose config names the layer by the digest of its tar.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../package.json', import.meta.url));
const tar = require('tar');

/** Where Debian's busybox-static puts its static binary. */
export const BUSYBOX = '/bin/busybox';

const sha256hex = (b) => createHash('sha256').update(b).digest('hex');

/** The tar of `names` under `dir`, uncompressed, with no owners or times of the host. */
async function tarOf(dir, names) {
  const chunks = [];
  for await (const c of tar.c({ cwd: dir, portable: true, noMtime: true }, names)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Writes `files` (path to content; a `{ symlink }` value is a link) under `dir`. */
function writeTree(dir, files) {
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    if (content?.symlink) symlinkSync(content.symlink, p);
    else if (content?.copyOf) copyFileSync(content.copyOf, p);
    else writeFileSync(p, content);
  }
}

/**
 * The `docker save` archive of a one-layer busybox image: `bin/busybox`, `bin/sh` and `bin/cat`
 * (links to it), an empty `tmp/`, the `extra` files (path to content), and `config` (Docker's
 * `Entrypoint`, `Cmd`, `Env`, `ExposedPorts`...).
 */
export async function busyboxImage({ extra = {}, config }) {
  const scratch = mkdtempSync(join(tmpdir(), 'ferry-bench-image-'));
  try {
    const root = join(scratch, 'root');
    mkdirSync(join(root, 'tmp'), { recursive: true });
    writeTree(root, { 'bin/busybox': { copyOf: BUSYBOX }, 'bin/sh': { symlink: 'busybox' }, 'bin/cat': { symlink: 'busybox' }, ...extra });
    const tops = [...new Set(['bin', 'tmp', ...Object.keys(extra).map((n) => n.split('/')[0])])];
    const layer = await tarOf(root, tops);
    const imageConfig = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config, rootfs: { type: 'layers', diff_ids: [`sha256:${sha256hex(layer)}`] }, history: [] }));
    const configName = `${sha256hex(imageConfig)}.json`;
    const save = join(scratch, 'save');
    writeTree(save, {
      [configName]: imageConfig,
      'layer0/layer.tar': layer,
      'layer0/VERSION': '1.0',
      'manifest.json': JSON.stringify([{ Config: configName, RepoTags: ['bench:latest'], Layers: ['layer0/layer.tar'] }]),
    });
    return await tarOf(save, [configName, 'layer0', 'manifest.json']);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
