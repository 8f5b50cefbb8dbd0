/**
 * A real image registry for tests: Debian's `docker-registry` on loopback, storage in a temp dir,
 * anonymous, with htpasswd logins, or with token auth from a small token endpoint the test runs
 * (JWTs signed with node:crypto, the key's certificate in the registry's rootcertbundle); TLS with
 * a CA made here. Images are built here from Debian's static busybox and pushed with the
 * registry's own API (anonymous registries) or with skopeo.
 */
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { makeTar } from './archive-writers.js';

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export const ociManifestType = 'application/vnd.oci.image.manifest.v1+json';
export const ociIndexType = 'application/vnd.oci.image.index.v1+json';
const ociConfigType = 'application/vnd.oci.image.config.v1+json';
const ociLayerGzip = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** An image built in memory: blobs by digest, and its manifest. */
export interface BuiltImage {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  manifestDigest: string;
}

/** A one-layer image: Debian's static busybox as /bin/busybox and /bin/sh, Cmd `sh -c "echo hi"`. */
export function busyboxImage(opts: { architecture?: string; note?: string } = {}): BuiltImage {
  const layer = gzipSync(makeTar([
    { name: 'bin/', type: '5' },
    { name: 'bin/busybox', mode: 0o755, body: readFileSync('/bin/busybox') },
    { name: 'bin/sh', type: '2', linkname: 'busybox' },
    { name: 'etc/', type: '5' },
    { name: 'etc/note', body: opts.note ?? 'busybox test image\n' },
  ]));
  return imageOf([layer], opts.architecture ?? 'amd64');
}

/** An OCI image of gzip layers (`run`: its config's Cmd, Entrypoint, Env, ...; default a busybox `echo hi`). */
export function imageOf(layers: Buffer[], architecture = 'amd64', run: object = { Cmd: ['/bin/sh', '-c', 'echo hi'], Env: ['PATH=/bin'], WorkingDir: '/' }): BuiltImage {
  const diffIds = layers.map((l) => sha256(execFileSync('gzip', ['-dc'], { input: l, maxBuffer: 1 << 28 })));
  const config = Buffer.from(JSON.stringify({
    architecture,
    os: 'linux',
    config: run,
    rootfs: { type: 'layers', diff_ids: diffIds },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: ociManifestType,
    config: { mediaType: ociConfigType, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: ociLayerGzip, digest: sha256(l), size: l.length })),
  }));
  return { config, layers, manifest, manifestDigest: sha256(manifest) };
}

/** An OCI index over images, each with its platform. */
export function indexOf(entries: Array<{ image: BuiltImage; architecture: string }>): Buffer {
  return Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: ociIndexType,
    manifests: entries.map((e) => ({ mediaType: ociManifestType, digest: e.image.manifestDigest, size: e.image.manifest.length, platform: { os: 'linux', architecture: e.architecture } })),
  }));
}

/** Writes `img` as an OCI image layout in `dir` (for skopeo's `oci:` transport). */
export function writeOciLayout(dir: string, img: BuiltImage, tag: string): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const b of [img.config, ...img.layers, img.manifest]) writeFileSync(join(blobs, sha256(b).slice(7)), b);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: ociManifestType, digest: img.manifestDigest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
}

/** Pushes with skopeo from an OCI layout; `creds` as `user:pass`; TLS not verified (test CA). */
export async function skopeoPush(img: BuiltImage, dest: string, creds?: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-oci-'));
  writeOciLayout(dir, img, 'push');
  const args = ['--insecure-policy', 'copy', '--quiet', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), `oci:${dir}:push`, `docker://${dest}`];
  // Not a sync spawn: a token endpoint of this same process must answer while skopeo pushes.
  await promisify(execFile)('skopeo', args, { timeout: 120_000 });
}

/** Pushes a blob and then a manifest to an anonymous plain-HTTP registry with its own API. */
export async function pushBlob(base: string, repo: string, blob: Buffer): Promise<void> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const loc = new URL(start.headers.get('location')!, base);
  loc.searchParams.set('digest', sha256(blob));
  const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(blob), headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload: ${put.status} ${await put.text()}`);
}

export async function pushManifest(base: string, repo: string, ref: string, mediaType: string, bytes: Buffer): Promise<void> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': mediaType } });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
}

/** Pushes a whole image (blobs, then the manifest under `tag`). */
export async function pushImage(base: string, repo: string, tag: string, img: BuiltImage): Promise<void> {
  for (const b of [img.config, ...img.layers]) await pushBlob(base, repo, b);
  await pushManifest(base, repo, tag, ociManifestType, img.manifest);
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as AddressInfo).port;
  await new Promise((ok) => s.close(ok));
  return port;
}

/** A CA and a server certificate for 127.0.0.1 (and localhost, the name NATS's client checks for a loopback address) it signed, as PEM files in `dir`. */
export function makeTlsFiles(dir: string): { ca: string; cert: string; key: string } {
  const f = (n: string): string => join(dir, n);
  const run = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=Ferry test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('san.ext')]);
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

/** The token endpoint of a token-auth registry: issues pull/push JWTs to one login. */
export class TokenEndpoint {
  readonly dir = mkdtempSync(join(tmpdir(), 'ferry-token-'));
  readonly certFile = join(this.dir, 'token.pem');
  private keyPem = '';
  private certDer = '';
  private server!: http.Server;
  url = '';
  /** Tokens handed out so far. */
  issued = 0;
  readonly service = 'ferry-test-registry';
  readonly issuer = 'ferry-test-issuer';

  constructor(private readonly login: { username: string; password: string }) {
    this.rotateKey();
  }

  /** A new signing key and certificate (in `certFile`): earlier tokens fail once the registry rereads it. */
  rotateKey(): void {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(this.dir, 'token.key'), '-out', this.certFile, '-days', '2', '-subj', '/CN=token signer'], { stdio: 'ignore' });
    this.keyPem = readFileSync(join(this.dir, 'token.key'), 'utf8');
    this.certDer = readFileSync(this.certFile, 'utf8').replace(/-----[^-]+-----|\s/g, '');
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const auth = req.headers.authorization ?? '';
      const want = `Basic ${Buffer.from(`${this.login.username}:${this.login.password}`).toString('base64')}`;
      if (auth !== want) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
        return;
      }
      const access = u.searchParams.getAll('scope').map((s) => {
        const [type, name, actions] = s.split(':');
        return { type, name, actions: (actions ?? '').split(',') };
      });
      this.issued++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: this.sign(access), expires_in: 300 }));
    });
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/token`;
  }

  private sign(access: unknown): string {
    const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ alg: 'RS256', typ: 'JWT', x5c: [this.certDer] });
    const body = b64({ iss: this.issuer, sub: this.login.username, aud: this.service, iat: now, nbf: now - 10, exp: now + 300, jti: randomBytes(8).toString('hex'), access });
    const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(this.keyPem).toString('base64url');
    return `${head}.${body}.${sig}`;
  }

  async stop(): Promise<void> {
    await new Promise((ok) => this.server.close(ok));
  }
}

/** How a test registry authenticates and serves. */
export interface RegistryOptions {
  tls?: { cert: string; key: string };
  htpasswd?: string;
  token?: TokenEndpoint;
}

/** Debian's docker-registry on a free loopback port; `stop()` ends it. */
export class TestRegistry {
  private constructor(private proc: ChildProcess, readonly port: number, readonly scheme: 'http' | 'https', readonly log: string[], private readonly config: string) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  get base(): string {
    return `${this.scheme}://${this.host}`;
  }

  static async start(o: RegistryOptions = {}): Promise<TestRegistry> {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-registry-'));
    const port = await freePort();
    const lines = [
      'version: 0.1',
      'log: {level: warn}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}"${o.tls ? `, tls: {certificate: ${o.tls.cert}, key: ${o.tls.key}}` : ''}}`,
    ];
    if (o.htpasswd) lines.push(`auth: {htpasswd: {realm: ferry-test, path: ${o.htpasswd}}}`);
    if (o.token) lines.push(`auth: {token: {realm: "${o.token.url}", service: ${o.token.service}, issuer: ${o.token.issuer}, rootcertbundle: ${o.token.certFile}}}`);
    writeFileSync(join(dir, 'config.yml'), lines.join('\n') + '\n');
    const r = new TestRegistry(spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] }), port, o.tls ? 'https' : 'http', [], join(dir, 'config.yml'));
    await r.listening();
    return r;
  }

  /** Stops and starts it again on the same port and storage (it rereads its certificate files). */
  async restart(): Promise<void> {
    await this.stop();
    this.proc = spawn('docker-registry', ['serve', this.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    await this.listening();
  }

  private async listening(): Promise<void> {
    const proc = this.proc;
    proc.stdout!.on('data', (c: Buffer) => this.log.push(c.toString()));
    proc.stderr!.on('data', (c: Buffer) => this.log.push(c.toString()));
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${this.log.join('')}`);
      const up = await new Promise<boolean>((ok) => {
        const c = connect(this.port, '127.0.0.1');
        c.once('connect', () => {
          c.destroy();
          ok(true);
        });
        c.once('error', () => ok(false));
      });
      if (up) return;
      await new Promise((ok) => setTimeout(ok, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`docker-registry did not listen: ${this.log.join('')}`);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const gone = new Promise((ok) => this.proc.once('exit', ok));
    this.proc.kill('SIGTERM');
    await gone;
  }
}
