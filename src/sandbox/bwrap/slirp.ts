/**
 * slirp4netns for `egress`, run by the server itself next to the instance. slirp4netns cannot
 * start a command: it attaches to a namespace that already exists. So the instance's first
 * process is `unshare --user --map-root-user --net -- sh -c ...` (unshare execs in place, the
 * shell execs bwrap: neither stays behind), and the server:
 *
 *   1. reads the namespace's pid from the control fd (the shell writes it once unshare is done);
 *   2. starts slirp4netns against it, as the instance runs (cgroups, sandbox uid), with its
 *      --ready-fd and --exit-fd on pipes only the server holds;
 *   3. answers "1" on the control fd once slirp4netns configured tap0, or the reason it did not:
 *      the shell then stops with 125 before anything of the instance runs.
 *
 * The exit pipe closes when the instance ends, or when the server dies (the kernel closes its
 * fds): slirp4netns never outlives either.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Socket } from 'node:net';

/** The instance's fd the namespace side talks to the server on (dash redirects take 0-9). */
export const STACK_FD = 9;

/** A network stack the server starts beside the instance (see `NetworkPlan.stack`). */
export interface AttachedStack {
  /** The fd of the instance's first process that must be a pipe to the server. */
  fd: number;
  /**
   * Called right after the instance's spawn. `wrap` turns the stack's argv into one that runs as
   * the instance does (the driver's helper: cgroups joined, sandbox uid).
   */
  attach(child: ChildProcess, wrap: (argv: string[]) => string[]): void;
}

type StdioEntry = Exclude<StdioOptions, string>[number];

/** `stdio` with a pipe at the stack's fd (the fds in between stay closed). */
export function withStackFd(stdio: StdioEntry[], stack: AttachedStack | undefined): StdioEntry[] {
  if (!stack) return stdio;
  if (stdio.length > stack.fd) throw new Error(`fd ${stack.fd} of the network stack is taken`);
  const out = [...stdio];
  while (out.length < stack.fd) out.push('ignore');
  out.push('pipe');
  return out;
}

/** Loads the filter from $2 with nft ($1), then execs the rest (bwrap ...): fail closed on error. */
export const loadAndExec =
  'printf "%s\\n" "$2" | "$1" -f - || { echo "ferry-net: could not load the egress filter into the namespace; not starting the instance" >&2; exit 125; }; shift 2; exec "$@"';

/**
 * The namespace side: report the pid, wait for the server's answer, close the control fd (the
 * instance must not inherit it), then load the filter and exec bwrap.
 */
const waitForStack =
  `echo $$ >&${STACK_FD} && read -r ok <&${STACK_FD} || ok=; exec ${STACK_FD}>&-; ` +
  `[ "$ok" = 1 ] || { printf 'ferry-net: the network stack did not configure the network%s; not starting the instance\\n' "\${ok:+ ($ok)}" >&2; exit 125; }; `;
const namespaceSide = waitForStack + loadAndExec;

/** argv before bwrap: a new user and network namespace whose shell waits for the stack. */
export function slirpPrefix(tools: { unshare: string; sh: string; nft: string }, rules: string): string[] {
  return [tools.unshare, '--user', '--map-root-user', '--net', '--', tools.sh, '-c', namespaceSide, 'ferry-net', tools.nft, rules];
}

/**
 * argv before bwrap under the shared router (egress-router.ts): the same namespace and wait, no
 * filter inside (the router filters), then bwrap.
 */
export function routedPrefix(tools: { unshare: string; sh: string }): string[] {
  return [tools.unshare, '--user', '--map-root-user', '--net', '--', tools.sh, '-c', `${waitForStack}exec "$@"`, 'ferry-net'];
}

/** How long the namespace and then slirp4netns may take (each), before the start fails. */
const STEP_MS = 10_000;
/** After the exit pipe closed, how long slirp4netns may take to leave before it is killed. */
const LINGER_MS = 1000;

const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(0, 300);

function killGroup(p: ChildProcess | undefined): void {
  if (!p?.pid || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** The server's side of slirp4netns for one instance. */
export function slirpStack(slirp4netns: string, stepMs = STEP_MS): AttachedStack {
  return {
    fd: STACK_FD,
    attach(child, wrap) {
      const control = (child.stdio as unknown as Array<Socket | null | undefined>)[STACK_FD];
      if (!control) return;
      control.on('error', () => {});
      let stack: ChildProcess | undefined;
      let answered = false;
      let ended = false;
      const answer = (line: string): void => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        control.end(`${line}\n`);
      };
      const fail = (why: string): void => {
        answer(oneLine(why) || 'failed');
        killGroup(stack);
      };
      const timer = setTimeout(() => fail(stack ? 'slirp4netns did not get ready in time' : 'no network namespace in time'), stepMs);
      timer.unref();

      // The instance is gone: the stack goes too (its exit pipe closes; killed should it linger).
      child.once('exit', () => {
        ended = true;
        answered = true;
        clearTimeout(timer);
        control.destroy();
        if (!stack) return;
        (stack.stdio[4] as Socket | null)?.destroy();
        const s = stack;
        setTimeout(() => killGroup(s), LINGER_MS).unref();
      });

      let text = '';
      control.setEncoding('utf8');
      control.on('data', (chunk: string) => {
        if (stack || ended) return;
        text += chunk;
        const nl = text.indexOf('\n');
        if (nl < 0) return;
        const pid = text.slice(0, nl);
        if (!/^[1-9]\d*$/.test(pid)) return fail('the namespace reported no pid');
        stack = start(wrap, slirp4netns, pid);
        stack.on('error', (err) => fail(`cannot run slirp4netns: ${err.message}`));
        let stderr = '';
        stack.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));
        // --ready-fd: slirp4netns writes "1" once tap0 is configured in the namespace.
        (stack.stdio[3] as Socket).setEncoding('utf8').on('data', (s: string) => {
          if (s.includes('1')) answer('1');
        });
        const err = stack.stderr;
        stack.once('exit', (code, sig) => {
          const report = (): void => fail(`slirp4netns exited (${sig ?? `exit code ${code}`})${stderr ? `: ${lastLine(stderr)}` : ''}`);
          // Its last words may arrive after the exit: they are the reason worth reporting.
          if (!err || err.readableEnded || err.destroyed) return report();
          err.once('close', report);
          setTimeout(report, 200).unref();
        });
      });
    },
  };
}

/** The last non-empty line of slirp4netns' output (its error, when it failed). */
function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).at(-1) ?? '';
}

/**
 * The slirp4netns command line for the namespace of process `pid`, with its --ready-fd on fd 3
 * and its --exit-fd on fd 4 (shared by the per-instance stack and the shared router).
 */
export function slirpArgv(slirp4netns: string, pid: string): string[] {
  return [
    slirp4netns,
    // Sets up tap0 (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3) inside the namespace.
    '--configure',
    '--mtu=65520',
    // Its gateway 10.0.2.2 would otherwise be the host's loopback.
    '--disable-host-loopback',
    '--ready-fd=3',
    // Closed by the server when it is done with the stack, and by the kernel when the server dies.
    '--exit-fd=4',
    pid,
    'tap0',
  ];
}

function start(wrap: (argv: string[]) => string[], slirp4netns: string, pid: string): ChildProcess {
  const argv = wrap(slirpArgv(slirp4netns, pid));
  const p = spawn(argv[0]!, argv.slice(1), {
    // Its own process group, so a signal to the server's group (Ctrl-C) does not cut the
    // network of instances still draining.
    detached: true,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  (p.stdio[3] as Socket | null)?.on('error', () => {});
  (p.stdio[4] as Socket | null)?.on('error', () => {});
  p.stderr?.on('error', () => {});
  // Neither it nor its pipes keep the server's event loop alive: the instance does.
  p.unref();
  for (const s of [p.stderr, p.stdio[3], p.stdio[4]] as Array<Socket | null>) s?.unref();
  return p;
}
