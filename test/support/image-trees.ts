import { execFileSync } from 'node:child_process';
import { copyFile, chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { dockerSaveArchive } from './images.js';

/**
 * Root file systems of container images, built from the host's own files with no daemon and no
 * download, packed as a one-layer `docker save` archive.
 */

/** busybox applets linked in /bin of a busybox image. */
const applets = ['sh', 'cat', 'httpd', 'env', 'id', 'pwd', 'ls', 'echo', 'touch', 'dd', 'head', 'seq', 'sleep', 'wc'];

/** Extra files of a tree: path under its root -> content (mode 0644, or as given), or a symbolic link. */
export type TreeFiles = Record<string, string | { content: string; mode: number } | { link: string }>;

/**
 * A busybox image (static, no libc at all): /bin/busybox and its applet links, an /etc/passwd
 * and /etc/group naming `app` (1234:2345), plus `files`. Answers the tree's directory.
 */
export async function busyboxTree(files: TreeFiles = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-image-'));
  await mkdir(join(dir, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  for (const a of applets) await symlink('busybox', join(dir, 'bin', a));
  await writeTreeFiles(dir, {
    'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/home/app:/bin/sh\n',
    'etc/group': 'root:x:0:\napps:x:2345:\nstaff:x:50:\n',
    ...files,
  });
  return dir;
}

/**
 * A glibc image: Debian's python3.11 (not the host's Ferry Node) with the libraries its loader
 * lists and the few stdlib files `python3.11 -S` loads, under the paths the host has them.
 */
export async function pythonTree(files: TreeFiles = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-image-'));
  const python = '/usr/bin/python3.11';
  const list = execFileSync('/lib64/ld-linux-x86-64.so.2', ['--list', python], { encoding: 'utf8' });
  const libs = [...list.matchAll(/=> (\/\S+) /g)].map((m) => m[1]!);
  const stdlib = execFileSync(python, ['-S', '-c', "import sys; print('\\n'.join(m.__file__ for m in sys.modules.values() if getattr(m, '__file__', None)))"], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f.startsWith('/usr/lib/python3.11/'));
  for (const f of [python, '/lib64/ld-linux-x86-64.so.2', ...libs, ...stdlib, '/usr/lib/python3.11/os.py']) {
    // Debian's /lib is a link to usr/lib: keep the path as the loader names it.
    await mkdir(join(dir, dirname(f)), { recursive: true });
    await copyFile(f, join(dir, f));
    await chmod(join(dir, f), f === python || f.includes('/ld-linux') ? 0o755 : 0o644);
  }
  await writeTreeFiles(dir, files);
  return dir;
}

async function writeTreeFiles(dir: string, files: TreeFiles): Promise<void> {
  for (const [name, spec] of Object.entries(files)) {
    const p = join(dir, name);
    await mkdir(dirname(p), { recursive: true });
    if (typeof spec === 'object' && 'link' in spec) {
      await symlink(spec.link, p);
      continue;
    }
    await writeFile(p, typeof spec === 'string' ? spec : spec.content);
    await chmod(p, typeof spec === 'string' ? 0o644 : spec.mode);
  }
}

/** An image upload: a `docker save` archive and the version's manifest (the `Ferry-Manifest` header). */
export interface ImageUpload {
  archive: Uint8Array;
  manifest: string;
}

/**
 * An image tree as a one-layer `docker save` archive with no run settings of its own (the
 * manifest's `image` says how it runs), and `manifest` to send beside it; the tree is removed.
 */
export async function imagePackage(tree: Promise<string>, manifest: Record<string, unknown>): Promise<ImageUpload> {
  const dir = await tree;
  try {
    const chunks: Buffer[] = [];
    for await (const c of tar.c({ cwd: dir, portable: true }, await readdir(dir)) as AsyncIterable<Buffer>) chunks.push(c);
    return { archive: new Uint8Array(dockerSaveArchive({ layers: [{ items: [], raw: Buffer.concat(chunks) }] })), manifest: JSON.stringify(manifest) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
