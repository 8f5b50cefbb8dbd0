import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { FerryError } from '../../errors/index.js';

/**
 * The instance's environment (its secrets and its token among it) reaches bwrap through a pipe,
 * as `bwrap --args FD`, never on bwrap's command line: /proc/<pid>/cmdline is readable by every
 * user of the host. bwrap reads the pipe to its end before it sets anything up, applies the
 * `--setenv` options after `--clearenv`, and closes it, so the sandbox never inherits it. Its own
 * /proc/<pid>/environ keeps the few variables it was started with (setenv does not change it).
 */

/** The fd of bwrap's `--args` (3 is its info pipe, 4 and 5 the seccomp filters). */
export const ENV_FD = 6;

/** `stdio` with the environment's pipe at ENV_FD. */
export function stdioWithEnv<T>(stdio: T[]): Array<T | 'pipe'> {
  if (stdio.length !== ENV_FD) throw new Error(`fd ${ENV_FD} of the environment is taken`);
  return [...stdio, 'pipe'];
}

/** `--setenv K V` for every variable, NUL-separated as `bwrap --args` reads them. */
export function envArgs(env: Record<string, string>): Buffer {
  const vars = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', ...env };
  const args: string[] = [];
  for (const [k, v] of Object.entries(vars)) {
    // A NUL would split an option in two (bwrap would read the rest as options of its own).
    if (k.includes('\0') || v.includes('\0')) throw new FerryError('instance-start-failed', `the environment variable ${k.replace(/\0/g, '')} holds a NUL byte`);
    args.push('--setenv', k, v);
  }
  return Buffer.from(`${args.join('\0')}\0`);
}

/** Writes `envArgs` into the spawned chain's ENV_FD and closes it. */
export function sendEnv(child: ChildProcess, env: Buffer): void {
  const pipe = (child.stdio as unknown as Array<Writable | null | undefined>)[ENV_FD];
  if (!pipe) return;
  // A start that fails before bwrap reads it (a network stack that did not come up) closes it early.
  pipe.on('error', () => {});
  pipe.end(env);
}
