// Pulling images from a real registry (Debian's docker-registry on loopback): anonymous, with
// htpasswd logins, with token auth, over TLS with a test CA; platforms, digests, the address
// policy and the credentials file. Nothing bad may ever reach the blob cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobCache } from '../src/images/blob-cache.js';
import { ImagePuller, type ImagePullerOptions } from '../src/images/pull.js';
import { RegistryCredentials } from '../src/images/registry-credentials.js';
import { FerryError } from '../src/errors/index.js';
import { AddressPolicy } from '../src/util/address-policy.js';
import { startFerry, disposeFerry } from './support/ferry.js';
import {
  busyboxImage, indexOf, makeTlsFiles, ociIndexType, pushBlob, pushImage, pushManifest, sha256, skopeoPush, TestRegistry, TokenEndpoint, type BuiltImage,
} from './support/registry.js';

const login = { username: 'puller', password: `pw-${Date.now()}` };
const image = busyboxImage();
let plain: TestRegistry;
const started: Array<{ stop(): Promise<void> }> = [];

before(async () => {
  plain = await TestRegistry.start();
  started.push(plain);
  await pushImage(plain.base, 'tools/busybox', 'v1', image);
});

after(async () => {
  for (const s of started.reverse()) await s.stop();
});

/** A blob cache in a fresh data dir. */
function freshCache(): BlobCache {
  return new BlobCache(mkdtempSync(join(tmpdir(), 'ferry-pull-')));
}

function puller(blobs: BlobCache, o: Partial<ImagePullerOptions> = {}): ImagePuller {
  return new ImagePuller({
    blobs,
    policy: new AddressPolicy(['127.0.0.1'], '--registry-allow'),
    credentials: RegistryCredentials.none(),
    insecure: [],
    maxBytes: 64 * 1024 * 1024,
    retryDelayMs: 10,
    ...o,
  });
}

/** Every blob the cache holds, and whatever half-received file it still has. */
function cacheContents(blobs: BlobCache): { blobs: string[]; incoming: string[] } {
  return { blobs: readdirSync(blobs.root).sort(), incoming: readdirSync(join(blobs.root, '..', '.incoming')) };
}

async function refusal(p: Promise<unknown>, code: string, detail: RegExp): Promise<FerryError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof FerryError, `expected FerryError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, detail);
  return err;
}

function expectStored(blobs: BlobCache, img: BuiltImage): void {
  for (const b of [img.manifest, img.config, ...img.layers]) {
    const p = blobs.path(sha256(b));
    assert.ok(existsSync(p), `${sha256(b)} in the cache`);
    assert.deepEqual(readFileSync(p), b);
  }
}

test('an anonymous pull: manifest digest, config and layers in order, all in the cache; a second pull finds them cached', async () => {
  const blobs = freshCache();
  const lines: string[] = [];
  const got = await puller(blobs, { insecure: [plain.host] }).pull(`${plain.host}/tools/busybox:v1`, { onProgress: (l) => lines.push(l) });
  assert.equal(got.manifestDigest, image.manifestDigest);
  assert.deepEqual(got.config, image.config);
  assert.deepEqual(got.layers, image.layers.map((l) => ({ digest: sha256(l), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: l.length })));
  assert.equal(got.source, `${plain.host}/tools/busybox:v1@${image.manifestDigest}`);
  expectStored(blobs, image);
  const layerShort = sha256(image.layers[0]!).slice(0, 19);
  assert.ok(lines.some((l) => l.startsWith(`pulling ${layerShort}.. `) && / \d+\.\d\/\d+\.\d MB$/.test(l)), lines.join('\n'));

  const again: string[] = [];
  const byDigest = await puller(blobs, { insecure: [plain.host] }).pull(`${plain.host}/tools/busybox@${image.manifestDigest}`, { onProgress: (l) => again.push(l) });
  assert.equal(byDigest.manifestDigest, image.manifestDigest);
  assert.deepEqual(again, [`cached ${sha256(image.config).slice(0, 19)}..`, `cached ${layerShort}..`]);
});

test('basic auth (htpasswd): the operator login pulls; a wrong password or none is a clear registry-denied, nothing stored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-htpasswd-'));
  const htpasswd = join(dir, 'htpasswd');
  writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', login.username, login.password]));
  const reg = await TestRegistry.start({ htpasswd });
  started.push(reg);
  await skopeoPush(image, `${reg.host}/private/busybox:v1`, `${login.username}:${login.password}`);

  const authFile = join(dir, 'config.json');
  writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${login.username}:${login.password}`).toString('base64') } } }), { mode: 0o600 });
  const blobs = freshCache();
  const got = await puller(blobs, { insecure: [reg.host], credentials: RegistryCredentials.load(authFile) }).pull(`${reg.host}/private/busybox:v1`);
  assert.equal(got.layers.length, 1);
  expectStored(blobs, { ...image, manifest: readFileSync(blobs.path(got.manifestDigest)) });

  const empty = freshCache();
  await refusal(puller(empty, { insecure: [reg.host] }).pull(`${reg.host}/private/busybox:v1`), 'registry-denied', /needs credentials/);
  await refusal(puller(empty, { insecure: [reg.host] }).pull(`${reg.host}/private/busybox:v1`, { login: { username: login.username, password: 'wrong' } }), 'registry-denied', /refused the credentials/);
  assert.deepEqual(cacheContents(empty), { blobs: [], incoming: [] });
  // The deploying user's own login works without the operator's file.
  await puller(freshCache(), { insecure: [reg.host] }).pull(`${reg.host}/private/busybox:v1`, { login });
});

test('token auth: a token from the realm with the login, cached for the next pull, fetched anew when the registry refuses it', async () => {
  const tokens = new TokenEndpoint(login);
  await tokens.start();
  started.push(tokens);
  const reg = await TestRegistry.start({ token: tokens });
  started.push(reg);
  await skopeoPush(image, `${reg.host}/team/busybox:v1`, `${login.username}:${login.password}`);

  const p = puller(freshCache(), { insecure: [reg.host, new URL(tokens.url).host] });
  const before = tokens.issued;
  await p.pull(`${reg.host}/team/busybox:v1`, { login });
  assert.equal(tokens.issued, before + 1, 'one token for the whole pull');
  await p.pull(`${reg.host}/team/busybox:v1`, { login });
  assert.equal(tokens.issued, before + 1, 'the second pull uses the cached token');

  // The registry now trusts a new signing key only: the cached token is refused, a new one fetched.
  tokens.rotateKey();
  await reg.restart();
  await p.pull(`${reg.host}/team/busybox:v1`, { login });
  assert.equal(tokens.issued, before + 2);

  const empty = freshCache();
  const q = puller(empty, { insecure: [reg.host, new URL(tokens.url).host] });
  await refusal(q.pull(`${reg.host}/team/busybox:v1`, { login: { ...login, password: 'wrong' } }), 'registry-denied', /refused the credentials/);
  await refusal(q.pull(`${reg.host}/team/busybox:v1`), 'registry-denied', /refused an anonymous token/);
  assert.deepEqual(cacheContents(empty), { blobs: [], incoming: [] });
});

test('TLS by default: a registry with its own CA is trusted with --registry-ca only', async () => {
  const tls = makeTlsFiles(mkdtempSync(join(tmpdir(), 'ferry-tls-')));
  const reg = await TestRegistry.start({ tls });
  started.push(reg);
  await skopeoPush(image, `${reg.host}/secure/busybox:v1`);

  const empty = freshCache();
  await refusal(puller(empty).pull(`${reg.host}/secure/busybox:v1`), 'registry-unavailable', /TLS: .*--registry-ca/);
  assert.deepEqual(cacheContents(empty), { blobs: [], incoming: [] });
  const got = await puller(freshCache(), { extraCa: readFileSync(tls.ca, 'utf8') }).pull(`${reg.host}/secure/busybox:v1`);
  assert.equal(got.manifestDigest, image.manifestDigest);
  // A plain-HTTP registry not listed in --insecure-registry is spoken to with TLS, and fails.
  await refusal(puller(freshCache()).pull(`${plain.host}/tools/busybox:v1`), 'registry-unavailable', /TLS/);
});

test('an index without linux/amd64 is refused, naming the platforms it has', async () => {
  const arm = busyboxImage({ architecture: 'arm64', note: 'arm\n' });
  for (const b of [arm.config, ...arm.layers]) await pushBlob(plain.base, 'multi/busybox', b);
  await pushManifest(plain.base, 'multi/busybox', arm.manifestDigest, 'application/vnd.oci.image.manifest.v1+json', arm.manifest);
  await pushManifest(plain.base, 'multi/busybox', 'arm-only', ociIndexType, indexOf([{ image: arm, architecture: 'arm64' }]));
  const empty = freshCache();
  await refusal(puller(empty, { insecure: [plain.host] }).pull(`${plain.host}/multi/busybox:arm-only`), 'image-invalid', /has no linux\/amd64 image; it has linux\/arm64/);
  assert.deepEqual(cacheContents(empty), { blobs: [], incoming: [] });

  // With amd64 beside it, the amd64 manifest is the one pulled.
  await pushImage(plain.base, 'multi/busybox', 'amd', image);
  await pushManifest(plain.base, 'multi/busybox', 'both', ociIndexType, indexOf([{ image: arm, architecture: 'arm64' }, { image, architecture: 'amd64' }]));
  const got = await puller(freshCache(), { insecure: [plain.host] }).pull(`${plain.host}/multi/busybox:both`);
  assert.equal(got.manifestDigest, image.manifestDigest);
  // An arm64 image named directly (no index) is refused by its config.
  await refusal(puller(freshCache(), { insecure: [plain.host] }).pull(`${plain.host}/multi/busybox@${arm.manifestDigest}`), 'image-invalid', /the image is for linux\/arm64; Ferry runs linux\/amd64/);
});

/** A proxy in front of the plain registry that alters answers whose path matches. */
async function tamperingProxy(alter: (path: string, body: Buffer) => Buffer | { redirect: string }): Promise<{ host: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const up = http.request({ host: '127.0.0.1', port: plain.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const out = alter(req.url ?? '', Buffer.concat(chunks));
        if (!Buffer.isBuffer(out)) {
          res.writeHead(307, { location: out.redirect }).end();
          return;
        }
        const headers = { ...r.headers, 'content-length': String(out.length) };
        res.writeHead(r.statusCode ?? 502, headers).end(out);
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const handle = { host, stop: () => new Promise<void>((ok) => server.close(() => ok())) };
  started.push(handle);
  return handle;
}

const flipLast = (b: Buffer): Buffer => {
  const c = Buffer.from(b);
  c[c.length - 1] = c[c.length - 1]! ^ 0xff;
  return c;
};

test('a blob or manifest whose bytes do not match its digest is refused and never stored', async () => {
  const layer = sha256(image.layers[0]!);
  const blobProxy = await tamperingProxy((path, body) => (path.includes(`/blobs/${layer}`) ? flipLast(body) : body));
  const blobs = freshCache();
  await refusal(puller(blobs, { insecure: [blobProxy.host] }).pull(`${blobProxy.host}/tools/busybox:v1`), 'image-invalid', new RegExp(`blob ${layer} does not match its digest`));
  assert.ok(!existsSync(blobs.path(layer)), 'the tampered layer is not in the cache');
  assert.deepEqual(cacheContents(blobs).incoming, []);

  const manifestProxy = await tamperingProxy((path, body) => (path.includes('/manifests/') ? Buffer.concat([body, Buffer.from(' ')]) : body));
  const empty = freshCache();
  await refusal(puller(empty, { insecure: [manifestProxy.host] }).pull(`${manifestProxy.host}/tools/busybox@${image.manifestDigest}`), 'image-invalid', /does not match its digest/);
  // By tag, the registry's Docker-Content-Digest is checked against the bytes.
  await refusal(puller(empty, { insecure: [manifestProxy.host] }).pull(`${manifestProxy.host}/tools/busybox:v1`), 'image-invalid', /not to the sha256:[0-9a-f]{64} the registry names/);
  assert.deepEqual(cacheContents(empty), { blobs: [], incoming: [] });
});

test('the address policy: a metadata or loopback registry without --registry-allow is refused before any connection; so is a redirect there', async () => {
  let connections = 0;
  const listener = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((ok) => listener.listen(0, '127.0.0.1', ok));
  started.push({ stop: () => new Promise<void>((ok) => listener.close(() => ok())) });
  const port = (listener.address() as AddressInfo).port;
  const closed = (blobs: BlobCache): ImagePuller => puller(blobs, { policy: new AddressPolicy([], '--registry-allow'), insecure: [`127.0.0.1:${port}`] });
  const blobs = freshCache();
  await refusal(closed(blobs).pull(`127.0.0.1:${port}/tools/busybox:v1`), 'url-refused', /127\.0\.0\.1 is a loopback.*--registry-allow/);
  await refusal(closed(blobs).pull(`localhost:${port}/tools/busybox:v1`), 'url-refused', /--registry-allow/);
  await refusal(closed(blobs).pull('169.254.169.254/latest/meta-data:v1'), 'url-refused', /169\.254\.169\.254 is a loopback, private or local address/);
  assert.equal(connections, 0);
  assert.deepEqual(cacheContents(blobs), { blobs: [], incoming: [] });

  // Every redirect hop is checked too: a blob sent on to the metadata address is not fetched.
  const layer = sha256(image.layers[0]!);
  const redirecting = await tamperingProxy((path, body) => (path.includes(`/blobs/${layer}`) ? { redirect: 'http://169.254.169.254/blob' } : body));
  const other = freshCache();
  await refusal(puller(other, { insecure: [redirecting.host, '169.254.169.254'] }).pull(`${redirecting.host}/tools/busybox:v1`), 'url-refused', /169\.254\.169\.254/);
  assert.ok(!existsSync(other.path(layer)));
});

test('the server refuses to start with a registry login file others can read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-authfile-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ auths: { 'registry.example.com': { auth: Buffer.from('u:secret-pw').toString('base64') } } }));
  chmodSync(file, 0o644);
  const err = await startFerry({ args: ['--registry-auth-file', file] }).then(async (f) => {
    await disposeFerry(f);
    return undefined;
  }, (e: Error) => e);
  assert.ok(err, 'the server started');
  assert.match(err.message, /--registry-auth-file: .* is readable by others \(mode 644\); chmod 600 it/);
  assert.doesNotMatch(err.message, /secret-pw|dTpzZWNyZXQtcHc/);
  chmodSync(file, 0o600);
  const f = await startFerry({ args: ['--registry-auth-file', file] });
  await disposeFerry(f);
});

test('a login goes only to the registry that asked for it, never on to where it redirects', async () => {
  const layer = sha256(image.layers[0]!);
  const seen: Array<string | undefined> = [];
  const storage = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-length': String(image.layers[0]!.length) }).end(image.layers[0]);
  });
  await new Promise<void>((ok) => storage.listen(0, '127.0.0.1', ok));
  started.push({ stop: () => new Promise<void>((ok) => storage.close(() => ok())) });
  const storageHost = `127.0.0.1:${(storage.address() as AddressInfo).port}`;
  const want = `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
  // A registry that wants the login on every request and keeps its layers elsewhere.
  const front = http.createServer((req, res) => {
    if (req.headers.authorization !== want) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    if (req.url?.includes(`/blobs/${layer}`)) {
      res.writeHead(307, { location: `http://${storageHost}/layer` }).end();
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: plain.port, path: req.url, method: req.method, headers: { accept: req.headers.accept ?? '*/*' } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.end();
  });
  await new Promise<void>((ok) => front.listen(0, '127.0.0.1', ok));
  started.push({ stop: () => new Promise<void>((ok) => front.close(() => ok())) });
  const frontHost = `127.0.0.1:${(front.address() as AddressInfo).port}`;

  const blobs = freshCache();
  const got = await puller(blobs, { insecure: [frontHost, storageHost] }).pull(`${frontHost}/tools/busybox:v1`, { login });
  assert.equal(got.manifestDigest, image.manifestDigest);
  assert.deepEqual(seen, [undefined], 'the layer was fetched from storage once, without the login');
  expectStored(blobs, image);
});

test('a 503 is tried again; a 404 is image-not-found', async () => {
  const layer = sha256(image.layers[0]!);
  let layerGets = 0;
  const flaky = http.createServer((req, res) => {
    if (req.url?.includes(`/blobs/${layer}`) && ++layerGets === 1) {
      res.writeHead(503).end();
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: plain.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((ok) => flaky.listen(0, '127.0.0.1', ok));
  started.push({ stop: () => new Promise<void>((ok) => flaky.close(() => ok())) });
  const host = `127.0.0.1:${(flaky.address() as AddressInfo).port}`;
  const blobs = freshCache();
  await puller(blobs, { insecure: [host] }).pull(`${host}/tools/busybox:v1`);
  assert.equal(layerGets, 2);
  expectStored(blobs, image);
  await refusal(puller(freshCache(), { insecure: [plain.host] }).pull(`${plain.host}/tools/busybox:nope`), 'image-not-found', /manifest nope does not exist \(404\)/);
});
