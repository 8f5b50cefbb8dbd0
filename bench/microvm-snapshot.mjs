#!/usr/bin/env node
// What restoring a microvm guest from a QEMU snapshot would save over booting it, and what it
// would break: the microvm tier's machine, kernel and console device, with a busybox initramfs
// as the whole guest (the tier's own root is a 9p share, which QEMU cannot migrate while it is
// mounted). Boots a guest, times it to its first answer, saves its state to a file (`migrate` to
// `exec:cat`), then restores that file `--restores` times, each time to its first answer. Every
// answer carries 8 bytes the guest read from /dev/urandom: restores that print the same bytes
// share the kernel's random state (each would hand its instances the same "random" keys).
// `--vmgenid` gives every VM a fresh VM generation ID, the device meant to make a restored
// kernel reseed.
//   npm run bench:snapshot [-- --restores 5 --memory 256 --vmgenid]
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findGuestKernel, initramfs, moduleName, uncompressedKernel } from '../dist/src/rootfs/index.js';
import { usableKvm } from '../dist/src/sandbox/host/kvm.js';

const { values: opt } = parseArgs({
  options: {
    restores: { type: 'string', default: '3' },
    memory: { type: 'string', default: '256' },
    vmgenid: { type: 'boolean', default: false },
    'kernel-dir': { type: 'string', default: '/var/cache/ferry/microvm-kernel' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  console.log('node bench/microvm-snapshot.mjs [--restores N] [--memory MB] [--vmgenid] [--kernel-dir DIR]');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'ferry-snapshot-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const kvm = usableKvm();
const accel = kvm.ok ? 'kvm' : 'tcg';
const kernel = findGuestKernel(opt['kernel-dir'], ['virtio_mmio', 'virtio_console']);
const vmlinux = uncompressedKernel(kernel.vmlinuz);
const kernelFile = join(work, 'vmlinux');
writeFileSync(kernelFile, vmlinux ?? readFileSync(kernel.vmlinuz));

// PID 1 loads the console's modules, then answers every line on the console with the line and
// 8 bytes of /dev/urandom.
const init = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t devtmpfs dev /dev
${kernel.modules.map((m) => `insmod /m/${moduleName(m)}.ko`).join('\n')}
while true; do read -r line < /dev/hvc0 && echo "echo:$line $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n')" > /dev/hvc0; done
`;
const initrd = join(work, 'initrd');
writeFileSync(initrd, initramfs([
  ...['bin', 'dev', 'proc', 'm'].map((name) => ({ name, mode: 0o040755 })),
  { name: 'bin/busybox', mode: 0o100755, data: readFileSync('/bin/busybox') },
  { name: 'init', mode: 0o100755, data: Buffer.from(init) },
  ...kernel.modules.map((m) => ({ name: `m/${moduleName(m)}.ko`, mode: 0o100644, data: readFileSync(m) })),
]));
const mhz = Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 2000);
const tsc = accel === 'tcg' ? ` tsc_early_khz=${Math.round(mhz * 1000)} tsc=reliable` : '';

/** The tier's machine and console (src/sandbox/microvm/qemu.ts), a QMP socket, no 9p. */
function argv(n) {
  return [
    '-M', 'microvm,x-option-roms=off,isa-serial=off,rtc=on', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-accel', accel, '-cpu', accel === 'kvm' ? 'host' : 'max', '-m', opt.memory, '-smp', '1',
    '-kernel', kernelFile, '-initrd', initrd, '-append', `console=hvc0 quiet loglevel=3 panic=-1 cryptomgr.notests${tsc}`,
    '-device', 'virtio-serial-device', '-chardev', `socket,id=con,path=${join(work, `con${n}`)},server=on,wait=off`, '-device', 'virtconsole,chardev=con',
    '-qmp', `unix:${join(work, `qmp${n}`)},server=on,wait=off`,
    ...(opt.vmgenid ? ['-device', `vmgenid,guid=${randomUUID()}`] : []),
  ];
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function connect(path, deadline) {
  for (;;) {
    try {
      return await new Promise((resolve, reject) => {
        const s = net.connect(path, () => resolve(s));
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(5);
    }
  }
}

/** Writes a line to the console every 100 ms until the guest answers one; answers its random bytes. */
async function firstAnswer(n, deadline) {
  const s = await connect(join(work, `con${n}`), deadline);
  let got = '';
  s.setEncoding('utf8').on('data', (d) => (got += d));
  try {
    for (let i = 0; Date.now() < deadline; i++) {
      s.write(`p${i}\n`);
      for (const until = Date.now() + 100; Date.now() < until; await sleep(2)) {
        const line = got.split('\n').find((l) => l.startsWith('echo:p') && l.trim().split(' ').length === 2);
        if (line) return line.trim().split(' ')[1];
      }
    }
    throw new Error(`VM ${n} did not answer on its console`);
  } finally {
    s.destroy();
  }
}

/** A QMP session: `cmd` sends a command and answers its reply (events are skipped). */
async function qmp(n, deadline) {
  const s = await connect(join(work, `qmp${n}`), deadline);
  let buf = '';
  s.setEncoding('utf8').on('data', (d) => (buf += d));
  const next = async () => {
    for (;;) {
      const i = buf.indexOf('\n');
      if (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const msg = JSON.parse(line);
        if (!msg.event) return msg;
      } else await sleep(2);
    }
  };
  await next();
  const cmd = async (execute, args) => {
    s.write(`${JSON.stringify({ execute, ...(args ? { arguments: args } : {}) })}\n`);
    const r = await next();
    if (r.error) throw new Error(`${execute}: ${r.error.desc}`);
    return r.return;
  };
  await cmd('qmp_capabilities');
  return { cmd, close: () => s.destroy() };
}

async function migrated(q) {
  for (;;) {
    const r = await q.cmd('query-migrate');
    if (r.status === 'completed') return r;
    if (r.status === 'failed') throw new Error(`migration failed: ${r['error-desc'] ?? ''}`);
    await sleep(5);
  }
}

const state = join(work, 'state');
const rows = [];
let t0 = Date.now();
const first = spawn('qemu-system-x86_64', argv(0), { stdio: ['ignore', 'inherit', 'inherit'] });
try {
  const bytes = await firstAnswer(0, Date.now() + 300_000);
  rows.push(['boot', Date.now() - t0, '', bytes]);
  const q = await qmp(0, Date.now() + 10_000);
  t0 = Date.now();
  await q.cmd('stop');
  await q.cmd('migrate', { uri: `exec:cat > ${state}` });
  await migrated(q);
  rows.push(['save (stop, migrate to a file)', Date.now() - t0, '', `${(statSync(state).size / 1048576).toFixed(1)} MiB`]);
  q.close();
} finally {
  first.kill('SIGKILL');
}
for (let n = 1; n <= Number(opt.restores); n++) {
  t0 = Date.now();
  const vm = spawn('qemu-system-x86_64', [...argv(n), '-incoming', `exec:cat ${state}`], { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    const q = await qmp(n, Date.now() + 30_000);
    await migrated(q);
    const loaded = Date.now() - t0;
    await q.cmd('cont');
    const bytes = await firstAnswer(n, Date.now() + 60_000);
    rows.push([`restore ${n}`, Date.now() - t0, loaded, bytes]);
    q.close();
  } finally {
    vm.kill('SIGKILL');
  }
}

const restored = rows.filter((r) => r[0].startsWith('restore'));
const distinct = new Set(restored.map((r) => r[3])).size;
console.log(`\nmicrovm snapshot restore: ${accel === 'kvm' ? 'KVM' : `emulated (TCG; ${kvm.why})`}, ${opt.memory} MB, busybox initramfs${opt.vmgenid ? ', a fresh vmgenid per VM' : ''}, ${new Date().toISOString()}\n`);
console.log('| step | ms to the first answer | ms to state loaded | /dev/urandom (or size) |');
console.log('|---|---:|---:|---|');
for (const r of rows) console.log(`| ${r[0]} | ${r[1]} | ${r[2]} | ${r[3]} |`);
console.log(`\n${distinct} distinct random value(s) over ${restored.length} restores${distinct < restored.length ? ': restored guests share their random state' : ''}.`);
