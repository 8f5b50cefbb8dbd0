// The router's child processes: the commands that configure its namespaces (`ip`, `nft`, run
// with the namespaces as descriptors), and what the router waits for from its long-lived ones.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { NetnsHandle } from './netns-handle.js';

/** The environment of every command the router runs: a fixed PATH, nothing of the server's. */
export const ROUTER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/**
 * Runs argv with `input` on stdin, the namespaces `netns` as its descriptors 3, 4 ...
 * (`childNetnsPath`); rejects with `what` and its last line of stderr on failure.
 */
export function exec(what: string, argv: string[], input: string, timeoutMs: number, netns: NetnsHandle[] = []): Promise<void> {
  // Each descriptor stays open until the command ended.
  const held = (i: number, fds: number[]): Promise<void> => (i < netns.length ? netns[i]!.use((fd) => held(i + 1, [...fds, fd])) : execWith(what, argv, input, timeoutMs, fds));
  return held(0, []);
}

function execWith(what: string, argv: string[], input: string, timeoutMs: number, fds: number[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0]!, argv.slice(1), { env: ROUTER_ENV, stdio: ['pipe', 'ignore', 'pipe', ...fds] });
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    p.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    p.on('close', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (${sig ?? `exit code ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`));
    });
    p.stdin!.on('error', () => {});
    p.stdin!.end(input);
  });
}

export function killGroup(p: ChildProcess | undefined): void {
  if (!p?.pid || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** The first line of a child's stdout (its stderr's last line in the error). */
export function firstLine(p: ChildProcess, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ${what} in time`)), timeoutMs);
    p.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
    p.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${sig ?? `exit code ${code}`})${err.trim() ? `: ${err.trim().split('\n').at(-1)}` : ''}`));
    });
  });
}

/** Resolves once slirp4netns wrote "1" on its --ready-fd (tap0 configured). */
export function ready(p: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('slirp4netns did not get ready in time')), timeoutMs);
    (p.stdio[4] as Socket | null)?.on('error', () => {});
    p.stderr!.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-2000)));
    (p.stdio[3] as Socket).setEncoding('utf8').on('data', (s: string) => {
      if (!s.includes('1')) return;
      clearTimeout(timer);
      resolve();
    });
    p.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`slirp4netns exited (${sig ?? `exit code ${code}`})${err.trim() ? `: ${err.trim().split('\n').at(-1)}` : ''}`));
    });
  });
}
