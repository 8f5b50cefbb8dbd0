import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { usableKvm } from '../host/kvm.js';

/**
 * Debian's runsc (gVisor 0.0~20221219): which platform it runs on here, the flags every call
 * passes, and the calls Ferry makes besides `run` (kill, delete, list).
 */

/** `kvm` where this host's KVM can run a guest (the sentry then runs guest code in a VM), else `ptrace`, with why. */
export function gvisorPlatform(): { platform: 'kvm' | 'ptrace'; why?: string } {
  const kvm = usableKvm();
  return kvm.ok ? { platform: 'kvm' } : { platform: 'ptrace', why: kvm.why };
}

/**
 * Whether runsc starts a sandbox on `platform` here: `runsc do /bin/true`, answered within
 * `timeoutMs`. A KVM that opens is not always one gVisor's sentry can run on (a nested KVM with
 * features missing, say): there the sandbox never starts a task and every instance would time out.
 * A probe that does not answer is stopped (SIGTERM, which lets runsc remove its sandbox) and what
 * it left under `root` is removed. Never rejects.
 */
export async function platformStarts(binary: string, root: string, platform: 'kvm' | 'ptrace', timeoutMs = 20_000): Promise<{ ok: true } | { ok: false; why: string }> {
  const args = ['--root', root, `--platform=${platform}`, '--network=none', 'do', '/bin/true'];
  const r = await new Promise<{ code: number | null; stderr: string; timedOut: boolean }>((resolve) => {
    const p = spawn(binary, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    const term = setTimeout(() => {
      timedOut = true;
      p.kill('SIGTERM');
    }, timeoutMs);
    const kill = setTimeout(() => p.kill('SIGKILL'), timeoutMs + 5_000);
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    p.on('error', (err) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code: null, stderr: err.message, timedOut: false });
    });
    p.on('close', (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, stderr, timedOut });
    });
  });
  if (r.code === 0 && !r.timedOut) return { ok: true };
  await destroyAll(binary, root);
  const said = r.stderr.trim().split('\n').pop() ?? '';
  return { ok: false, why: r.timedOut ? `runsc's ${platform} platform started no sandbox within ${timeoutMs / 1000} s` : `runsc's ${platform} platform failed (exit ${r.code})${said ? `: ${said}` : ''}` };
}

/** Runs `runsc` with `args`; resolves with its exit code and stderr (never rejects). */
export function runsc(binary: string, args: string[], timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(binary, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    p.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    p.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: err.message });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Stops a container for good: every process killed, the sandbox and its state gone. Idempotent. */
export async function destroyContainer(binary: string, root: string, id: string): Promise<void> {
  await runsc(binary, ['--root', root, 'kill', '--all', id, 'KILL']);
  await runsc(binary, ['--root', root, 'delete', '--force', id]);
}

/**
 * Removes what an earlier server process left under `root` (its containers, killed and deleted)
 * and under `bundles` (their config files): answers the container ids removed.
 */
export async function cleanupContainers(binary: string, root: string, bundles: string): Promise<string[]> {
  const ids = await destroyAll(binary, root);
  for (const name of await readdir(bundles).catch(() => [] as string[])) await rm(`${bundles}/${name}`, { recursive: true, force: true });
  return ids;
}

/** Stops and removes every container under `root`; answers their ids. */
async function destroyAll(binary: string, root: string): Promise<string[]> {
  const listed = await runsc(binary, ['--root', root, 'list', '--quiet']);
  const ids = listed.code === 0 ? listed.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  for (const id of ids) await destroyContainer(binary, root, id);
  return ids;
}
