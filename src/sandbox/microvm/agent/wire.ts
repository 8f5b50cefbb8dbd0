/**
 * The wire between the microvm driver and its guest agent: one virtio-serial port carries the
 * agent's control messages, the instance's output and every stream of the instance's channel.
 * The framing is that of Ferry's frame protocol (runtime/frames/codec.ts); the types are the
 * agent's own. This file imports only Node built-ins: it runs in the guest, by the agent.
 *
 * frame   = u32 length (of the rest) | u8 type | u32 stream id | payload
 * HELLO   agent -> host, stream 0: JSON Hello: the guest booted, the agent waits for SPAWN
 * SPAWN   host -> agent, stream 0: JSON SpawnRequest: start the instance (once per VM)
 * STARTED agent -> host, stream 0: JSON {pid};   FAILED: utf-8 reason (the agent then exits)
 * OPEN    host -> agent: dial the instance's channel (odd stream ids);
 *         agent -> host: the instance opened a stream to Ferry's instance API (even ids)
 * ACCEPT  agent -> host: the dial of that stream reached the instance
 * DATA / END (half close) / RESET (utf-8 reason; NOT_LISTENING: nothing listens yet): either way
 * STDOUT / STDERR agent -> host: the instance's output;  STDIN host -> agent (empty: end)
 * SIGNAL  host -> agent: utf-8 signal name for the instance (SIGKILL: its whole cgroup)
 * EXIT    agent -> host: JSON {code, signal, oom}: the instance is gone (the VM powers off)
 * ATTACHED host -> agent, stream 0, no payload: the first frame the host sends, as soon as it has
 *         the port. From then on the port read empty means the host left (its server was killed):
 *         the agent ends the instance and the VM powers off, so no VM outlives its server.
 */
export const Wire = {
  hello: 1,
  spawn: 2,
  started: 3,
  failed: 4,
  open: 5,
  accept: 6,
  data: 7,
  end: 8,
  reset: 9,
  stdout: 10,
  stderr: 11,
  stdin: 12,
  signal: 13,
  exit: 14,
  attached: 15,
} as const;

/** The reason of a RESET answering an OPEN that found nothing listening (a start retries). */
export const NOT_LISTENING_REASON = 'NOT_LISTENING';

/** Frames larger than this are refused: a corrupt length must not make either side buffer gigabytes. */
export const MAX_WIRE_FRAME = 16 * 1024 * 1024;
/** DATA payloads are cut to this size, so one stream does not hold the port for long. */
export const WIRE_CHUNK = 64 * 1024;

/** The 9p mount tag of the package share (read-only), which the agent mounts when it starts the instance. */
export const PACKAGE_TAG = 'pkg';

/** What the host asks the agent to start. */
export interface SpawnRequest {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** Guest uid and gid the instance runs as (never 0). */
  uid: number;
  gid: number;
  memoryMb: number;
  pids: number;
  tmpMb: number;
  /** The guest path where the instance listens for Ferry (absent: nothing to dial). */
  listen?: string;
  /** The guest path where the agent listens for the instance's calls to Ferry (absent: none). */
  api?: string;
  /** The instance's run dir in the guest (made for it, owned by `uid`). */
  runDir: string;
  /** Where the agent mounts the package share (PACKAGE_TAG) before anything else. */
  packageDir: string;
  stdin: boolean;
  /**
   * The instance's own root (a container image version; absent: the guest's root): `tree`, the
   * guest directory whose entries make its `/`, and the guest's files shown inside it at `to`
   * (Ferry's Node, its libraries and runtime). `argv` and `cwd` are then paths inside it.
   */
  root?: { tree: string; binds: Array<{ from: string; to: string }> };
}

/** What HELLO says. */
export interface Hello {
  kernel: string;
  /** The guest's NIC is up as the host's share said (absent: the VM has no network). */
  network?: 'egress';
}

/**
 * `net.json` of the `ferry.net` share, given only to VMs booted for `egress`: the NIC driver's
 * modules (files of the share, in load order) and the guest's addresses.
 */
export interface GuestNetConfig {
  modules: string[];
  /** address/prefix of eth0. */
  address: string;
  gateway: string;
  dns: string;
}

/** What EXIT says. */
export interface ExitReport {
  code: number | null;
  signal: string | null;
  /** The kernel's OOM killer ended a process of the instance's memory cgroup. */
  oom: boolean;
}

/** Encodes one frame. */
export function encodeWire(type: number, stream: number, payload?: Uint8Array | string): Buffer {
  const body = payload === undefined ? Buffer.alloc(0) : typeof payload === 'string' ? Buffer.from(payload) : payload;
  const buf = Buffer.allocUnsafe(9 + body.length);
  buf.writeUInt32BE(body.length + 5, 0);
  buf[4] = type;
  buf.writeUInt32BE(stream, 5);
  buf.set(body, 9);
  return buf;
}

/** Splits a byte stream into frames; throws on a frame past MAX_WIRE_FRAME (the caller closes). */
export class WireDecoder {
  private pending: Buffer[] = [];
  private size = 0;

  push(chunk: Buffer, onFrame: (type: number, stream: number, payload: Buffer) => void): void {
    this.pending.push(chunk);
    this.size += chunk.length;
    if (this.size < 4) return;
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    let at = 0;
    while (buf.length - at >= 4) {
      const len = buf.readUInt32BE(at);
      if (len < 5 || len > MAX_WIRE_FRAME) throw new Error(`bad frame length ${len}`);
      if (buf.length - at < 4 + len) break;
      onFrame(buf[at + 4]!, buf.readUInt32BE(at + 5), buf.subarray(at + 9, at + 4 + len));
      at += 4 + len;
    }
    buf = buf.subarray(at);
    this.pending = buf.length ? [buf] : [];
    this.size = buf.length;
  }
}
