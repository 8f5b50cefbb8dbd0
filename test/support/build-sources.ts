// Package sources for dependency-build tests, offline: a tiny npm registry, a PEP 503 "simple"
// index and wheels made by hand (npm's registry and PyPI are not reachable from tests).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { packFiles, type Ferry, type PackageFiles } from './ferry.js';

/** The package the registry serves by default, and functions import. */
export const pkgName = 'ferry-greet';

/** A tiny npm registry: one package, its packument and its tarball; counts what it was asked. */
export interface Registry {
  server: Server;
  port: number;
  /** Request paths, in order. */
  hits: string[];
  tarballUrl(host: string): string;
  integrity: string;
}

/** `npm pack` of a one-file CommonJS package, plus `extra` files. */
export async function packTarball(dir: string, name = pkgName, extra: Record<string, Buffer> = {}, fields: Record<string, unknown> = {}): Promise<Buffer> {
  const src = join(dir, `src-${name}`);
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: 'index.js', license: 'MIT', ...fields }));
  await writeFile(join(src, 'index.js'), "module.exports = (who) => 'hello ' + who;\n");
  for (const [file, data] of Object.entries(extra)) await writeFile(join(src, file), data);
  const r = spawnSync('npm', ['pack', '--pack-destination', dir], { cwd: src, encoding: 'utf8', env: { ...process.env, npm_config_cache: join(dir, 'npm-cache') } });
  assert.equal(r.status, 0, r.stderr);
  return readFile(join(dir, `${name}-1.0.0.tgz`));
}

/** Listens on port 0 of `host` (default: every address); answers the port. */
export async function listen(server: Server, host = '0.0.0.0'): Promise<number> {
  server.listen({ port: 0, host });
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Serves each package of `tarballs` (name to `npm pack` output) at version 1.0.0; `fields` go into its packument. */
export async function startRegistry(tarballs: Record<string, Buffer>, fields: Record<string, Record<string, unknown>> = {}): Promise<Registry> {
  const integrityOf = (tarball: Buffer): string => `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const host = req.headers.host ?? '127.0.0.1';
    const name = Object.keys(tarballs).find((n) => req.url === `/${n}` || req.url === `/${n}/-/${n}-1.0.0.tgz`);
    const tarball = name === undefined ? undefined : tarballs[name]!;
    if (name !== undefined && tarball && req.url === `/${name}`) {
      const shasum = createHash('sha1').update(tarball).digest('hex');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        name,
        'dist-tags': { latest: '1.0.0' },
        versions: { '1.0.0': { name, version: '1.0.0', main: 'index.js', ...fields[name], dist: { tarball: `http://${host}/${name}/-/${name}-1.0.0.tgz`, shasum, integrity: integrityOf(tarball) } } },
      }));
    } else if (tarball) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(tarball);
    } else {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end('{"error":"not found"}');
    }
  });
  // Every address: the host's loopback for the allowed registry, its other addresses for the probe.
  const port = await listen(server);
  return { server, port, hits, integrity: integrityOf(tarballs[pkgName]!), tarballUrl: (host) => `http://${host}:${port}/${pkgName}/-/${pkgName}-1.0.0.tgz` };
}

/** The wheel `writeWheel` makes: project ferrypy 1.0, whose `greet(who)` answers 'hello ' + who. */
export const wheelFile = 'ferrypy-1.0-py3-none-any.whl';

/** A wheel made by hand in `dir`: a zip holding the module and its dist-info. Answers its path. */
export function writeWheel(dir: string): string {
  const script = `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1] + '/${wheelFile}', 'w') as z:
    z.writestr('ferrypy/__init__.py', "def greet(who):\\n    return 'hello ' + who\\n")
    z.writestr('ferrypy-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: ferrypy\\nVersion: 1.0\\n')
    z.writestr('ferrypy-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: hand\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')
    z.writestr('ferrypy-1.0.dist-info/RECORD', 'ferrypy/__init__.py,,\\nferrypy-1.0.dist-info/METADATA,,\\nferrypy-1.0.dist-info/WHEEL,,\\nferrypy-1.0.dist-info/RECORD,,\\n')
`;
  const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return join(dir, wheelFile);
}

/** A PEP 503 "simple" index of one project: `/simple/<project>/` links its wheel with a `#sha256=` fragment. */
export interface SimpleIndex {
  server: Server;
  port: number;
  /** Request paths, in order. */
  hits: string[];
}

/** Serves `wheel` (a path) as the only file of `project`; every other project is 404, as on PyPI. */
export async function startSimpleIndex(project: string, wheel: string): Promise<SimpleIndex> {
  const data = await readFile(wheel);
  const file = wheel.split('/').pop()!;
  const sha256 = createHash('sha256').update(data).digest('hex');
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === `/simple/${project}/`) {
      res.setHeader('content-type', 'text/html');
      res.end(`<!DOCTYPE html>\n<html><body>\n<a href="/files/${file}#sha256=${sha256}">${file}</a>\n</body></html>\n`);
    } else if (req.url === `/files/${file}`) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(data);
    } else {
      res.statusCode = 404;
      res.end('not found');
    }
  });
  return { server, port: await listen(server, '127.0.0.1'), hits };
}

/** A node function whose handler greets through `pkgName`. */
export const nodeFn = (deps: Record<string, string>, extra: PackageFiles = {}): PackageFiles => ({
  'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }),
  'package.json': JSON.stringify({ name: 'fn', version: '1.0.0', type: 'module', dependencies: deps }),
  'index.js': `import greet from '${pkgName}';\nexport default () => new Response(greet('node'));\n`,
  ...extra,
});

/** A python function whose handler greets through the ferrypy wheel, from `requirements`. */
export const pythonFn = (requirements = 'ferrypy==1.0\n'): PackageFiles => ({
  'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py' }),
  'requirements.txt': requirements,
  'main.py': "import ferrypy\n\ndef handler(req):\n    return ferrypy.greet('python')\n",
});

export async function buildLog(ferry: Ferry, name: string): Promise<string> {
  const res = await ferry.api('GET', `/v1/functions/${name}/versions/v1/build-log`);
  assert.equal(res.status, 200);
  return res.text();
}

export async function upload(ferry: Ferry, name: string, files: PackageFiles): Promise<Response> {
  return ferry.api('POST', `/v1/functions/${name}/versions`, await packFiles(files), { 'content-type': 'application/gzip' });
}
