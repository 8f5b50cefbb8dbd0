// The instance's environment goes to bwrap through a pipe (`--args`), never on its command line.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ENV_FD, envArgs, sendEnv, stdioWithEnv } from './env-fd.js';
import { findTool } from './network.js';
import { need } from '../../../test/support/must-work.js';
import { systemBindArgs } from './system-binds.js';

test('the options: --setenv per variable, NUL-separated, PATH and HOME first; a NUL is refused', () => {
  assert.equal(envArgs({ A: 'x y', HOME: '/h' }).toString(), ['--setenv', 'PATH', '/usr/local/bin:/usr/bin:/bin', '--setenv', 'HOME', '/h', '--setenv', 'A', 'x y', ''].join('\0'));
  assert.throws(() => envArgs({ A: 'x\0--bind' }), /A holds a NUL byte/);
});

test('bwrap sets the variables from the pipe; neither its command line nor the sandbox holds them or the fd', async (t) => {
  const bwrap = findTool('bwrap');
  if (!need(t, !!bwrap, 'bwrap is not installed')) return;
  const secret = `env-fd-secret-${process.pid}-${Date.now()}`;
  const child = spawn(bwrap!, ['--unshare-user', ...systemBindArgs(), '--proc', '/proc', '--clearenv', '--args', String(ENV_FD), '--', '/bin/sh', '-c', 'echo "$SECRET"; ls /proc/self/fd; read x'], {
    stdio: stdioWithEnv(['pipe', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore']),
  });
  sendEnv(child, envArgs({ SECRET: secret }));
  let out = '';
  child.stdout!.setEncoding('utf8');
  const secretSeen = new Promise<void>((resolve) => child.stdout!.on('data', (s: string) => (out += s).includes(secret) && resolve()));
  await secretSeen;
  // The sandbox is running (waiting on stdin): bwrap's own command line is there to read.
  const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
  child.stdin!.end('\n');
  await new Promise((resolve) => child.once('close', resolve));
  assert.ok(!cmdline.includes(secret), 'the value is not on bwrap\'s command line');
  assert.ok(cmdline.includes(`--args\0${ENV_FD}`));
  const fds = out.split('\n').slice(1).filter(Boolean);
  assert.ok(!fds.includes(String(ENV_FD)), `bwrap closed the pipe before the sandbox started (fds: ${fds.join(' ')})`);
});
