/**
 * The escape suite's probes: python handler bodies that try to get out of a sandbox and answer,
 * per attempt, `{ok: true, result}` or `{ok: false, error, errno}`. Shared by the driver
 * conformance suite (driver.suite.ts) and the server-level escape suite (test/escape.test.ts).
 */
import { networkInterfaces } from 'node:os';

/** A python handler that runs `body` (indented) and returns its result; `attempt(fn)` reports a try. */
export function pythonProbe(body: string): string {
  return [
    'import ctypes, errno, json, os, socket, time',
    'libc = ctypes.CDLL(None, use_errno=True)',
    'def attempt(fn):',
    '    try:',
    '        r = fn()',
    '        return {"ok": True, "result": str(r)[:200]}',
    '    except Exception as e:',
    '        return {"ok": False, "error": type(e).__name__, "errno": getattr(e, "errno", None), "msg": str(e)[:200]}',
    'def rc(v):',
    '    if v != 0:',
    '        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))',
    '    return v',
    'def handler(request):',
    ...body.split('\n').map((l) => `    ${l}`),
    '',
  ].join('\n');
}

/** Host files: each key must fail but `tmp_write`. `X_DATA_DIR` names Ferry's data dir. */
export const filesystemChecks = `return {
    "shadow": attempt(lambda: open("/etc/shadow").read()),
    "data_dir": attempt(lambda: os.listdir(os.environ["X_DATA_DIR"])),
    "root_write": attempt(lambda: open("/evil", "w").write("x")),
    "usr_write": attempt(lambda: open("/usr/evil", "w").write("x")),
    "pkg_write": attempt(lambda: open(os.getcwd() + "/evil", "w").write("x")),
    "tmp_write": attempt(lambda: open("/tmp/ok", "w").write("x")),
}`;
export const filesystemRefused = ['shadow', 'data_dir', 'root_write', 'usr_write', 'pkg_write'];

/** The processes the instance sees: `pids` and their command lines. */
export const processChecks = `pids = [p for p in os.listdir("/proc") if p.isdigit()]
cmds = []
for p in pids:
    try:
        cmds.append(open(f"/proc/{p}/cmdline", "rb").read().replace(b"\\0", b" ").decode()[:200])
    except Exception:
        pass
return {"pids": len(pids), "cmds": cmds}`;

/** The kernel's surface: every key must fail; `module` with EPERM (seccomp, not EBADF). */
export const kernelChecks = `return {
    "ptrace": attempt(lambda: rc(libc.ptrace(0, 0, 0, 0))),
    "mount": attempt(lambda: rc(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))),
    "module": attempt(lambda: rc(libc.syscall(313, -1, b"", 0))),
    "unshare": attempt(lambda: rc(libc.unshare(0x10000000))),
    "raw": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
    "keyring": attempt(lambda: rc(libc.syscall(250, 1, 0, 0, 0, 0))),
}`;
export const kernelRefused = ['ptrace', 'mount', 'module', 'unshare', 'raw', 'keyring'];

/** A TCP connection to `port` on each of `addrs`: every key must fail where host services are out of reach. */
export function hostServiceChecks(addrs: string[], port: number): string {
  return `out = {}
for a in ${JSON.stringify(addrs)}:
    out[a] = attempt(lambda: socket.create_connection((a, ${port}), timeout=2).recv(100))
return out`;
}

/** A TCP connection to each `host:port` of `targets`, answered per target (what it read, or why not). */
export function tcpChecks(targets: string[]): string {
  return `out = {}
for t in ${JSON.stringify(targets)}:
    h, p = t.rsplit(":", 1)
    out[t] = attempt(lambda: socket.create_connection((h, int(p)), timeout=3).recv(100))
return out`;
}

/** Forks until refused: `forked` stays near `limits.pids`. */
export const forkBomb = `n = 0
try:
    for i in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(5); os._exit(0)
        n += 1
except OSError as e:
    return {"forked": n, "stopped": e.errno}
return {"forked": n}`;

/** Fills /tmp 1 MiB at a time: `written` stays at most `limits.tmpMb`, then ENOSPC (28). */
export const tmpFill = `written = 0
try:
    with open("/tmp/fill", "wb") as f:
        for i in range(64):
            f.write(b"x" * (1024 * 1024))
            f.flush()
            written += 1024 * 1024
except OSError as e:
    return {"written": written, "errno": e.errno}
return {"written": written}`;

/** The host's IPv4 addresses, loopback first: where a host service listens. */
export function hostAddresses(): string[] {
  return ['127.0.0.1', ...Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a!.address)];
}

export const refused = (r: unknown): boolean => (r as { ok: boolean } | undefined)?.ok === false;

/** One probe body answering each probe at its path (and `{"unknown": path}` elsewhere). */
export function byPath(probes: Array<[string, string]>): string {
  const branches = probes.map(([at, code]) => `if request.path == ${JSON.stringify(at)}:\n${code.split('\n').map((l) => `    ${l}`).join('\n')}`);
  return `${branches.join('\n')}\nreturn {"unknown": request.path}`;
}

/** The instance's own stream to Ferry: it says something and returns what Ferry answered. */
export const instanceStreamCheck = `s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["FERRY_API_SOCKET"])
s.sendall(b"from the instance")
return {"answer": s.recv(100).decode()}`;
