/**
 * Ferry's guest agent: the one program of a microvm guest that speaks to the host. It runs as
 * root in the guest (started by busybox init, see rootfs/guest-files.ts), over the virtio-serial
 * port `ferry.0`: it says HELLO, takes one SPAWN, starts the instance as an unprivileged guest
 * user in a cgroup of its own (memory, pids), relays its output, carries its channel's streams
 * both ways (wire.ts), reports its EXIT and ends, after which the guest powers off. A VM serves
 * one instance, never a second. An instance with a root of its own (a container image) starts in
 * it (instance-root.ts). This file imports only Node built-ins and its siblings.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, openSync, read, readdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { copyReadable } from './copy-readable.js';
import { instanceArgv, makeInstanceRoot } from './instance-root.js';
import { encodeWire, NOT_LISTENING_REASON, PACKAGE_TAG, Wire, WireDecoder, WIRE_CHUNK, type ExitReport, type GuestNetConfig, type Hello, type SpawnRequest } from './wire.js';

/** The root's static busybox (inittab says where: a root made from an image keeps its own under /.ferry). */
const BUSYBOX = process.env['FERRY_BUSYBOX'] || '/usr/bin/busybox';
const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP = join(CGROUP_ROOT, 'instance');

/** The device of the virtio-serial port named `name` (no udev in the guest: found through sysfs). */
function portDevice(name: string): string | undefined {
  for (const dev of readdirSync('/sys/class/virtio-ports')) {
    // A console port has no name file.
    if (!existsSync(`/sys/class/virtio-ports/${dev}/name`)) continue;
    if (readFileSync(`/sys/class/virtio-ports/${dev}/name`, 'utf8').trim() === name) return `/dev/${dev}`;
  }
  return undefined;
}

let portPath: string | undefined;
const findPort = (): string | undefined => {
  try {
    return portDevice('ferry.0');
  } catch {
    return undefined;
  }
};
for (let i = 0; i < 200 && !(portPath = findPort()); i++) execFileSync(BUSYBOX, ['sleep', '0.05']);
if (!portPath) {
  process.stderr.write('ferry-agent: no virtio-serial port ferry.0\n');
  process.exit(1);
}
// One open for both directions: a virtio port allows a single opener.
const fd = openSync(portPath, 'r+');
const out = createWriteStream('', { fd, autoClose: false });
const streams = new Map<number, Socket>();
const paused = new Set<Socket>();
let child: ChildProcess | undefined;
let apiServer: Server | undefined;
let nextStream = 2;

function send(type: number, stream: number, payload?: Uint8Array | string): void {
  if (!out.write(encodeWire(type, stream, payload))) {
    // The host reads slower than the instance writes: its streams wait (backpressure).
    for (const s of streams.values()) if (!s.isPaused()) (s.pause(), paused.add(s));
  }
}
out.on('drain', () => {
  for (const s of paused) s.resume();
  paused.clear();
});

/** Relays `socket` as stream `id`: its bytes as DATA, its end as END, a failure as RESET. */
function relay(id: number, socket: Socket): void {
  streams.set(id, socket);
  socket.on('data', (b: Buffer) => {
    for (let at = 0; at < b.length; at += WIRE_CHUNK) send(Wire.data, id, b.subarray(at, at + WIRE_CHUNK));
  });
  socket.on('end', () => send(Wire.end, id));
  socket.on('error', () => {});
  socket.on('close', (hadError) => {
    if (streams.get(id) !== socket) return;
    streams.delete(id);
    paused.delete(socket);
    if (hadError || !socket.readableEnded) send(Wire.reset, id, 'closed');
  });
}

/** A host dial: only a socket the instance's user made at the listen path, never a link it put there. */
function dial(id: number, req: SpawnRequest): void {
  const fail = (reason: string): void => send(Wire.reset, id, reason);
  if (!req.listen) return fail('this instance listens for nothing');
  let st;
  try {
    st = lstatSync(req.listen);
  } catch {
    return fail(NOT_LISTENING_REASON);
  }
  if (!st.isSocket() || st.uid !== req.uid) return fail(`${req.listen} is not a socket of the instance's user; not connecting`);
  const socket = connect(req.listen);
  socket.once('error', (err: NodeJS.ErrnoException) => {
    if (streams.has(id)) return;
    fail(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? NOT_LISTENING_REASON : err.message);
  });
  socket.once('connect', () => {
    send(Wire.accept, id);
    relay(id, socket);
  });
}

function sh(...args: string[]): void {
  execFileSync(BUSYBOX, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The instance's cgroup: memory (no swap) and pids bounds, its processes killed together on OOM. */
function makeCgroup(req: SpawnRequest): void {
  writeFileSync(join(CGROUP_ROOT, 'cgroup.subtree_control'), '+memory +pids');
  mkdirSync(CGROUP);
  writeFileSync(join(CGROUP, 'memory.max'), String(req.memoryMb * 1024 * 1024));
  writeFileSync(join(CGROUP, 'memory.swap.max'), '0');
  writeFileSync(join(CGROUP, 'memory.oom.group'), '1');
}

function oomKilled(): boolean {
  try {
    return /^oom_kill [1-9]/m.test(readFileSync(join(CGROUP, 'memory.events'), 'utf8'));
  } catch {
    return false;
  }
}

function start(req: SpawnRequest): void {
  if (req.uid === 0 || req.gid === 0) throw new Error('the instance must not run as root');
  // The package, mounted only now: the share is empty until the host links the instance's package
  // into it, and a guest with no 9p share mounted until its instance comes is one QEMU can save.
  sh('mount', '-t', '9p', '-o', 'ro,nosuid,nodev,trans=virtio,version=9p2000.L,msize=512000,cache=none', PACKAGE_TAG, req.packageDir);
  // /tmp is the instance's, of tmpMb; its run dir holds its sockets.
  sh('mount', '-t', 'tmpfs', '-o', `size=${req.tmpMb}m,mode=1777,nosuid,nodev`, 'tmpfs', '/tmp');
  mkdirSync(req.runDir, { recursive: true, mode: 0o700 });
  chownSync(req.runDir, req.uid, req.gid);
  chmodSync(req.runDir, 0o700);
  makeCgroup(req);
  if (req.api) serveApi(req.api, req);
  // In its own root the instance drops to its user itself (instanceArgv), after the change of root.
  if (req.root) makeInstanceRoot(req, BUSYBOX);
  const [program, ...args] = req.root ? instanceArgv(req, BUSYBOX) : req.argv;
  // A child starts in its parent's cgroup: the agent steps into the instance's for the fork and
  // out again, so the instance is bounded from its first instruction. pids.max allows for the
  // agent's own threads while it is inside, and is set exactly once it is out.
  const threads = readdirSync('/proc/self/task').length;
  writeFileSync(join(CGROUP, 'pids.max'), String(req.pids + threads + 1));
  writeFileSync(join(CGROUP, 'cgroup.procs'), String(process.pid));
  try {
    child = spawn(program!, args, {
      cwd: req.root ? '/' : req.cwd,
      env: req.env,
      ...(!req.root && { uid: req.uid, gid: req.gid }),
      stdio: [req.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  } finally {
    writeFileSync(join(CGROUP_ROOT, 'cgroup.procs'), String(process.pid));
  }
  writeFileSync(join(CGROUP, 'pids.max'), String(req.pids));
  child.stdout!.on('data', (b: Buffer) => send(Wire.stdout, 0, b));
  child.stderr!.on('data', (b: Buffer) => send(Wire.stderr, 0, b));
  child.stdin?.on('error', () => {});
  child.once('error', (err) => finish({ code: 127, signal: null, oom: false }, `cannot start ${req.argv[0]}: ${err.message}`));
  child.once('spawn', () => send(Wire.started, 0, JSON.stringify({ pid: child!.pid })));
  child.once('exit', (code, signal) => finish({ code, signal, oom: oomKilled() }));
}

/** The instance's calls to Ferry: a socket only its user may connect to; each connection a stream to the host. */
function serveApi(path: string, req: SpawnRequest): void {
  mkdirSync(dirname(path), { recursive: true });
  apiServer = createServer((s) => {
    const id = nextStream;
    nextStream += 2;
    send(Wire.open, id);
    relay(id, s);
  });
  const umask = process.umask(0o177);
  apiServer.listen(path);
  process.umask(umask);
  chownSync(path, req.uid, req.gid);
}

let finished = false;
function finish(report: ExitReport, why?: string): void {
  if (finished) return;
  finished = true;
  if (why) process.stderr.write(`ferry-agent: ${why}\n`);
  for (const s of streams.values()) s.destroy();
  apiServer?.close();
  send(Wire.exit, 0, JSON.stringify(report));
  // Everything else of the instance goes with it; then the guest powers off (inittab).
  try {
    writeFileSync(join(CGROUP, 'cgroup.kill'), '1');
  } catch {
    /* no cgroup yet */
  }
  out.end(() => process.exit(0));
}

/** The host has the port (ATTACHED came): a read that finds it empty means the host left. */
let attached = false;
/** Since when the port has been found without its host, before any ATTACHED. */
let notAttachedSince: number | undefined;
/** The host connects as QEMU starts, before the guest boots: a minute without it is a host gone. */
const UNATTACHED_MS = 60_000;

/** The server that ran this VM is gone (killed): nothing would ever stop the VM, so it ends now. */
function hostLeft(): void {
  process.stderr.write('ferry-agent: the host left the port (its server is gone): powering off\n');
  try {
    writeFileSync(join(CGROUP, 'cgroup.kill'), '1');
  } catch {
    /* no instance yet */
  }
  // Nothing is written to the port: no one reads it any more. The guest powers off (inittab).
  process.exit(0);
}

let spawnRequest: SpawnRequest | undefined;
function onFrame(type: number, id: number, payload: Buffer): void {
  switch (type) {
    case Wire.attached:
      attached = true;
      return;
    case Wire.spawn: {
      if (spawnRequest) return;
      spawnRequest = JSON.parse(payload.toString('utf8')) as SpawnRequest;
      try {
        start(spawnRequest);
      } catch (err) {
        send(Wire.failed, 0, (err as Error).message);
        finished = true;
        out.end(() => process.exit(1));
      }
      return;
    }
    case Wire.open:
      if (spawnRequest) dial(id, spawnRequest);
      else send(Wire.reset, id, NOT_LISTENING_REASON);
      return;
    case Wire.data:
      streams.get(id)?.write(payload);
      return;
    case Wire.end:
      streams.get(id)?.end();
      return;
    case Wire.reset: {
      const s = streams.get(id);
      streams.delete(id);
      s?.destroy();
      return;
    }
    case Wire.stdin:
      if (payload.length) child?.stdin?.write(payload);
      else child?.stdin?.end();
      return;
    case Wire.signal: {
      const signal = payload.toString('utf8') as NodeJS.Signals;
      if (signal === 'SIGKILL') {
        try {
          writeFileSync(join(CGROUP, 'cgroup.kill'), '1');
        } catch {
          /* not started */
        }
      }
      child?.kill(signal);
      return;
    }
  }
}

// Reads the port in a loop: a read returns 0 while the host side is not connected. Before the
// host's ATTACHED that is not the end (the host may connect later); after it, the host left.
const decoder = new WireDecoder();
const buf = Buffer.alloc(256 * 1024);
function readLoop(): void {
  read(fd, buf, 0, buf.length, null, (err, n) => {
    if (err) {
      process.stderr.write(`ferry-agent: reading the port: ${err.message}\n`);
      process.exit(1);
    }
    if (n === 0) {
      // Never attached for a minute: the server died while this VM booted (its ATTACHED lost).
      if (attached || (notAttachedSince ??= Date.now()) < Date.now() - UNATTACHED_MS) return hostLeft();
      return void setTimeout(readLoop, 20);
    }
    try {
      decoder.push(Buffer.from(buf.subarray(0, n)), onFrame);
    } catch (e) {
      process.stderr.write(`ferry-agent: ${(e as Error).message}\n`);
      process.exit(1);
    }
    readLoop();
  });
}
/** The 9p tag of the share an `egress` VM is booted with (egress.ts on the host). */
const NET_TAG = 'ferry.net';

/**
 * The NIC of an `egress` VM, set up before HELLO so a pooled VM is ready: the host shares the
 * NIC driver's modules and the guest's addresses under NET_TAG (a VM booted for `none` has
 * neither that share nor a NIC). The instance's user cannot change any of it (no CAP_NET_ADMIN),
 * and the host's egress filter, outside the VM, sees every packet anyway.
 */
function setUpNetwork(): Hello['network'] {
  const devices = '/sys/bus/virtio/devices';
  const tagOf = (d: string): string | undefined => {
    try {
      return readFileSync(join(devices, d, 'mount_tag'), 'utf8').replace(/\0/g, '').trim();
    } catch {
      return undefined;
    }
  };
  if (!readdirSync(devices).some((d) => tagOf(d) === NET_TAG)) return undefined;
  const dir = '/run/ferry-net';
  mkdirSync(dir, { mode: 0o700 });
  sh('mount', '-t', '9p', '-o', 'ro,nosuid,nodev,trans=virtio,version=9p2000.L', NET_TAG, dir);
  const net = JSON.parse(readFileSync(join(dir, 'net.json'), 'utf8')) as GuestNetConfig;
  for (const m of net.modules) sh('insmod', join(dir, m));
  sh('umount', dir);
  const nic = readdirSync('/sys/class/net').find((n) => n !== 'lo');
  if (!nic) throw new Error('no NIC appeared once its driver was loaded');
  sh('ip', 'addr', 'add', net.address, 'dev', nic);
  sh('ip', 'link', 'set', nic, 'up');
  sh('ip', 'route', 'add', 'default', 'via', net.gateway, 'dev', nic);
  // The root's /etc is read-only and has no resolv.conf: a copy with one, bound over it, read-only.
  // What the guest cannot read (9p checks the host's modes) stays out of the copy.
  const etc = '/run/ferry-etc';
  mkdirSync(etc, { mode: 0o755 });
  copyReadable('/etc', etc);
  writeFileSync(join(etc, 'resolv.conf'), `# Ferry egress: the host's egress router forwards these queries to its resolver.\nnameserver ${net.dns}\n`, { mode: 0o644 });
  sh('mount', '--bind', etc, '/etc');
  sh('mount', '-o', 'remount,bind,ro', '/etc');
  return 'egress';
}

const hello: Hello = { kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() };
try {
  const network = setUpNetwork();
  if (network) hello.network = network;
} catch (err) {
  // HELLO without the network: the host gives the VM up and says why (the console holds this).
  process.stderr.write(`ferry-agent: the network could not be set up: ${(err as Error).message}\n`);
}
send(Wire.hello, 0, JSON.stringify(hello));
readLoop();
