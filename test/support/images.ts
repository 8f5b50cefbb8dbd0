/**
 * Container images built in the test, with no daemon and no network: layers are tars written by
 * hand (so the evil ones real tools refuse to make can be made too), from the host's static
 * busybox (Debian's busybox-static). Each builder answers the bytes of an upload: a `docker save`
 * archive or an OCI image layout tar.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FerryError } from '../../src/errors/index.js';
import { makeTar, type TarItem } from './archive-writers.js';

export type { TarItem };

/** One layer: its tar entries, gzip-compressed or not (OCI: the media type says which). */
export interface TestLayer {
  items: TarItem[];
  gzip?: boolean;
  /** Raw layer bytes instead of `items` (e.g. a zstd frame). */
  raw?: Buffer;
  /** The OCI media type to declare instead of the usual tar / tar+gzip one. */
  mediaType?: string;
}

/** The `config` of an image config, Docker's capitalisation. */
export interface TestRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object>;
}

export interface TestImage {
  layers: TestLayer[];
  config?: TestRunConfig;
  /** Default `linux/amd64`. */
  os?: string;
  architecture?: string;
}

/** Where Debian's busybox-static puts its static binary. */
export const BUSYBOX = '/bin/busybox';

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/**
 * A busybox root file system: `bin/busybox`, `bin/sh` (a symlink), `bin/cat` (a hard link),
 * `usr/bin/env` (an absolute symlink, as images have them), `/etc/passwd` and `/etc/group` with
 * an `app` user (1000), and `/tmp`.
 */
export function busyboxLayer(): TestLayer {
  return {
    gzip: true,
    items: [
      { name: 'bin/', type: '5' },
      { name: 'bin/busybox', mode: 0o4755, body: readFileSync(BUSYBOX) }, // setuid: must be dropped
      { name: 'bin/sh', type: '2', linkname: 'busybox' },
      { name: 'bin/cat', type: '1', linkname: 'bin/busybox' },
      { name: 'usr/', type: '5' },
      { name: 'usr/bin/', type: '5' },
      { name: 'usr/bin/env', type: '2', linkname: '/bin/busybox' },
      { name: 'etc/', type: '5' },
      { name: 'etc/passwd', body: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' },
      { name: 'etc/group', body: 'root:x:0:\napp:x:1000:\n' },
      { name: 'tmp/', type: '5', mode: 0o1777 },
    ],
  };
}

/** An `exec` busybox image: `Entrypoint ["/bin/sh", "-c"]`, `Cmd ["cat"]`. */
export function busyboxImage(extra: TestLayer[] = []): TestImage {
  return {
    layers: [busyboxLayer(), ...extra],
    config: { Entrypoint: ['/bin/sh', '-c'], Cmd: ['cat'], Env: ['PATH=/usr/bin:/bin', 'GREETING=hello'], WorkingDir: '/', User: 'app' },
  };
}

/** An HTTP busybox image: `httpd` serving `/www` on port 8080, which it exposes. */
export function busyboxHttpImage(): TestImage {
  return {
    layers: [busyboxLayer(), { items: [{ name: 'www/', type: '5' }, { name: 'www/index.html', body: 'hello from an image\n' }] }],
    config: { Entrypoint: ['/bin/busybox', 'httpd', '-f', '-p', '8080', '-h', '/www'], ExposedPorts: { '8080/tcp': {} }, Env: ['PATH=/bin'] },
  };
}

/**
 * A layer of host files at their host paths: directories walked (`__pycache__` left out),
 * symlinks kept, and for each file given by name the shared libraries `ldd` lists (with the
 * loader), stored as regular files at the paths `ldd` names. E.g. the host's Python:
 * `hostFilesLayer(['/usr/bin/python3.11', '/usr/lib/python3.11'])`.
 */
export function hostFilesLayer(paths: string[]): TestLayer {
  const items = new Map<string, TarItem>();
  const add = (path: string, follow: boolean): void => {
    const name = path.replace(/^\/+/, '');
    if (items.has(name)) return;
    const st = lstatSync(path);
    if (st.isSymbolicLink() && !follow) items.set(name, { name, type: '2', linkname: readlinkSync(path) });
    else if (st.isDirectory()) {
      items.set(name, { name: `${name}/`, type: '5' });
      for (const child of readdirSync(path)) if (child !== '__pycache__') add(join(path, child), false);
    } else {
      const real = realpathSync(path);
      items.set(name, { name, mode: lstatSync(real).mode & 0o777, body: readFileSync(real) });
    }
  };
  for (const p of paths) {
    add(p, true);
    if (!lstatSync(realpathSync(p)).isFile()) continue;
    let libs = '';
    try {
      libs = execFileSync('ldd', [p], { encoding: 'utf8' });
    } catch {
      continue; // not a dynamic executable
    }
    for (const m of libs.matchAll(/(?:=> )?(\/\S+) \(0x/g)) add(m[1]!, true);
  }
  return { gzip: true, items: [...items.values()] };
}

/** An `exec` image of the host's Python 3.11 (beside busybox): the body on stdin is echoed back. */
export function pythonImage(): TestImage {
  return {
    layers: [busyboxLayer(), hostFilesLayer(['/usr/bin/python3.11', '/usr/lib/python3.11'])],
    config: { Entrypoint: ['/usr/bin/python3.11', '-c'], Cmd: ['import sys; sys.stdout.write(sys.stdin.read())'], Env: ['PATH=/usr/bin:/bin'] },
  };
}

/**
 * A layer on top of busybox that deletes and hides: a whiteout of `etc/group`, an opaque `usr/bin`
 * (its `env` link goes, its new `hello` stays), and a new file replacing a lower symlink.
 */
export function whiteoutLayer(): TestLayer {
  return {
    items: [
      { name: 'etc/.wh.group', body: '' },
      { name: 'usr/bin/', type: '5' },
      { name: 'usr/bin/.wh..wh..opq', body: '' },
      { name: 'usr/bin/hello', mode: 0o755, body: '#!/bin/sh\necho hello\n' },
      { name: 'bin/sh', mode: 0o755, body: '#!/bin/busybox sh\n' },
    ],
  };
}

function layerBytes(l: TestLayer): Buffer {
  if (l.raw) return l.raw;
  const tar = makeTar(l.items);
  return l.gzip ? gzipSync(tar) : tar;
}

function configBytes(img: TestImage, diffIds: string[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: img.architecture ?? 'amd64',
      os: img.os ?? 'linux',
      config: img.config ?? {},
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: [],
    }),
  );
}

/** The diff id of a layer: the digest of its uncompressed tar. */
function diffIdOf(l: TestLayer): string {
  return sha256(l.raw ?? makeTar(l.items));
}

/** Tamperings of an archive, each of which must be refused. */
export interface Tamper {
  /** The config lists a wrong diff id for the last layer. */
  wrongDiffId?: boolean;
  /** The first layer blob's bytes change after it was named by its digest (OCI). */
  corruptBlob?: boolean;
  /** The config is named after another digest (docker save). */
  misnamedConfig?: boolean;
  /** A layer repeating an earlier one is a symlink to it, as older Docker writes it (docker save). */
  linkRepeatedLayers?: boolean;
  /** The last layer is a symlink out of the archive (docker save). */
  layerLinkOutside?: boolean;
}

/**
 * A `docker save` archive and its image digest (its config's), in the layout Docker wrote before version 25: `<config-hex>.json`,
 * `<n>/layer.tar` (uncompressed, named by path, checked against the config's diff ids),
 * `manifest.json` and `repositories`.
 */
export function dockerSave(img: TestImage, tamper: Tamper = {}): { archive: Buffer; digest: string } {
  const diffIds = img.layers.map(diffIdOf);
  if (tamper.wrongDiffId) diffIds[diffIds.length - 1] = sha256('not this layer');
  const config = configBytes(img, diffIds);
  const configName = `${tamper.misnamedConfig ? '0'.repeat(64) : sha256(config).slice('sha256:'.length)}.json`;
  const items: TarItem[] = [{ name: `${configName}`, body: config }];
  const layerPaths: string[] = [];
  img.layers.forEach((l, i) => {
    const dir = `layer${i}`;
    const earlier = tamper.linkRepeatedLayers ? diffIds.indexOf(diffIds[i]!) : i;
    const last = i === img.layers.length - 1;
    const layer: TarItem = tamper.layerLinkOutside && last
      ? { name: `${dir}/layer.tar`, type: '2', linkname: '../../layer0/layer.tar' }
      : earlier < i
        ? { name: `${dir}/layer.tar`, type: '2', linkname: `../layer${earlier}/layer.tar` }
        : { name: `${dir}/layer.tar`, body: l.raw ?? makeTar(l.items) };
    items.push({ name: `${dir}/`, type: '5' }, layer, { name: `${dir}/VERSION`, body: '1.0' });
    layerPaths.push(`${dir}/layer.tar`);
  });
  items.push({ name: 'manifest.json', body: JSON.stringify([{ Config: configName, RepoTags: ['test:latest'], Layers: layerPaths }]) });
  items.push({ name: 'repositories', body: JSON.stringify({ test: { latest: 'layer0' } }) });
  return { archive: makeTar(items), digest: sha256(config) };
}

/** The `docker save` archive of `img`. */
export function dockerSaveArchive(img: TestImage, tamper: Tamper = {}): Buffer {
  return dockerSave(img, tamper).archive;
}

/**
 * A `docker save` archive as Docker 25 and later write it: an OCI image layout (uncompressed layer
 * blobs, so each is named by its diff id) plus `manifest.json` naming the blobs by path.
 */
export function dockerSaveModern(img: TestImage): { archive: Buffer; digest: string } {
  const tars = img.layers.map((l) => l.raw ?? makeTar(l.items));
  const config = configBytes(img, tars.map((t) => sha256(t)));
  const hex = (b: Buffer): string => sha256(b).slice('sha256:'.length);
  const layers = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(t), size: t.length }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers }));
  const items: TarItem[] = [
    { name: 'blobs/', type: '5' },
    { name: 'blobs/sha256/', type: '5' },
    ...[config, manifest, ...tars].map((b) => ({ name: `blobs/sha256/${hex(b)}`, body: b })),
    { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length }] }) },
    { name: 'manifest.json', body: JSON.stringify([{ Config: `blobs/sha256/${hex(config)}`, RepoTags: ['test:latest'], Layers: tars.map((t) => `blobs/sha256/${hex(t)}`) }]) },
    { name: 'oci-layout', body: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
  ];
  return { archive: makeTar(items), digest: sha256(config) };
}

/** The OCI image layout of `img`, and its manifest's digest. */
export function ociLayout(img: TestImage, tamper: Tamper = {}, opts: { platforms?: string[] } = {}): { archive: Buffer; digest: string } {
  const blobs = new Map<string, Buffer>();
  const add = (b: Buffer): string => {
    const d = sha256(b);
    blobs.set(d, b);
    return d;
  };
  const diffIds = img.layers.map(diffIdOf);
  if (tamper.wrongDiffId) diffIds[diffIds.length - 1] = sha256('not this layer');
  const config = configBytes(img, diffIds);
  const layers = img.layers.map((l) => {
    const bytes = layerBytes(l);
    return { mediaType: l.mediaType ?? (l.gzip ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar'), digest: add(bytes), size: bytes.length };
  });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: add(config), size: config.length }, layers }));
  const digest = add(manifest);
  const platforms = opts.platforms ?? [];
  const manifests = platforms.length === 0
    ? [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length }]
    : platforms.map((p) => {
        const [os, architecture] = p.split('/');
        // Only the linux/amd64 entry is this image; the others name it too but must not be picked.
        return { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length, platform: { os, architecture } };
      });
  if (tamper.corruptBlob) {
    const first = layers[0]!.digest;
    const b = Buffer.from(blobs.get(first)!);
    b.writeUInt8(b.readUInt8(b.length - 1) ^ 0xff, b.length - 1);
    blobs.set(first, b);
  }
  const items: TarItem[] = [
    { name: 'oci-layout', body: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { name: 'index.json', body: JSON.stringify({ schemaVersion: 2, manifests }) },
    { name: 'blobs/', type: '5' },
    { name: 'blobs/sha256/', type: '5' },
    ...[...blobs].map(([d, body]) => ({ name: `blobs/sha256/${d.slice('sha256:'.length)}`, body })),
  ];
  return { archive: makeTar(items), digest };
}

/** An OCI image layout tar of `img`. */
export function ociLayoutArchive(img: TestImage, tamper: Tamper = {}): Buffer {
  return ociLayout(img, tamper).archive;
}

/** An `assert.rejects` check: a FerryError of `code` whose message names every one of `words`. */
export function refusedWith(code: string, ...words: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof FerryError, String(e));
    assert.equal(e.code, code, e.message);
    for (const w of words) assert.ok(e.message.includes(w), `'${e.message}' should name ${w}`);
    return true;
  };
}

// Evil layers: each must be refused, naming the layer and the entry.

/** The classic escape: a symlink to a host directory, then a file written "into" it. */
export function symlinkEscapeLayers(target = '/etc'): TestLayer[] {
  return [{ items: [{ name: 'evil', type: '2', linkname: target }] }, { items: [{ name: 'evil/ferry-escaped', body: 'pwned\n' }] }];
}

/** The same escape within one layer. */
export function symlinkEscapeLayer(target = '/etc'): TestLayer {
  return { items: [{ name: 'evil', type: '2', linkname: target }, { name: 'evil/ferry-escaped', body: 'pwned\n' }] };
}

export function dotDotLayer(): TestLayer {
  return { items: [{ name: 'bin/../../ferry-escaped', body: 'pwned\n' }] };
}

export function absoluteNameLayer(): TestLayer {
  return { items: [{ name: '/ferry-escaped', body: 'pwned\n' }] };
}

export function deviceLayer(): TestLayer {
  return { items: [{ name: 'dev/', type: '5' }, { name: 'dev/sda', type: '4' }] };
}

export function fifoLayer(): TestLayer {
  return { items: [{ name: 'pipe', type: '6' }] };
}

/** A gzip layer that inflates to `mib` MiB of one file's zeros (a few KiB compressed). */
export function bombLayer(mib: number): TestLayer {
  return { gzip: true, items: [{ name: 'zeros', body: Buffer.alloc(mib * 1024 * 1024) }] };
}

/** A layer in zstd (its frame magic is enough: it is refused by media type or by its bytes). */
export function zstdLayer(): TestLayer {
  return { items: [], raw: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' };
}
