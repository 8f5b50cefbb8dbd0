import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { awaitSandboxExit, defaultLimits, defaultSandbox, type SandboxDriver, type SandboxProcess, type SandboxTier, type SandboxUser } from '../core/index.js';
import { FerryError } from '../errors/index.js';
import { shortId } from '../util/ids.js';
import { Turns } from '../util/turns.js';
import { describeExitOf } from './exits.js';
import { makeRunDir, removeRunDir } from './run-dir.js';

export interface AdHocRunnerOptions {
  driver: SandboxDriver;
  /** Runs get `<runRoot>/<run id>/` as their run dir, as instances do. */
  runRoot: string;
  /** Longest a run may take, and its time when the request names none (`--run-timeout`). */
  timeoutCapMs: number;
  /** Most bytes of stdout and of stderr each (`--run-output-max`); a run writing more is stopped. */
  maxOutputBytes: number;
  /** How long a stopped run has between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Told of every run that ended (logs and metrics): its label, how it ended, how long it took. */
  onEnd?(label: string, outcome: RunFailure | 'exited', program: string, ms: number): void;
}

/** One ad-hoc command: argv, its environment, what goes to stdin, and who asked (for the logs). */
export interface RunRequest {
  command: string[];
  env: Record<string, string>;
  stdin: Buffer;
  /** At most `timeoutCapMs`; default: the cap. */
  timeoutMs?: number;
  /** What the caller calls the run (Tangle's `function_id`), for logs and metrics. */
  label?: string;
  /** Aborted when no one waits for the answer any more (the caller hung up): the run is stopped. */
  signal?: AbortSignal;
  /** A container image's root file system as `/` instead of the default root (`command` and `env` then planned in it). */
  image?: RunImageRoot;
  /** The sandbox tier to run in (absent: the server's default tier); the caller checked it may. */
  tier?: SandboxTier;
}

/** An image a deployed version carries, as an ad-hoc run's root (service/run-image.ts finds it). */
export interface RunImageRoot {
  /** Host path of the image version's package: the image's root file system. */
  packageDir: string;
  /** The image's working directory and user, looked up in its tree. */
  cwd: string;
  user: SandboxUser;
}

/** Why a run ended when it did not exit by itself: the command did not exist, its time ran out, it wrote too much, it went over its memory, a signal, its caller left. */
export type RunFailure = 'not-found' | 'timed-out' | 'output-cap' | 'oom' | 'killed' | 'cancelled';

export interface RunOutcome {
  stdout: Buffer;
  stderr: Buffer;
  /** The exit status; null when it did not exit by itself. */
  exitCode: number | null;
  /** Null on exit 0; else the exit status or the reason, in words. */
  error: string | null;
  failure?: RunFailure;
}

/** Where output goes as it comes, for a streamed answer (the outcome then holds none). */
export interface RunSink {
  stdout(chunk: Buffer): void;
  stderr(chunk: Buffer): void;
}

/** A run's PATH unless it sets one (an image's comes from the image): every tier looks the program up the same way. */
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The helper's line when exec fails: `<helper>: cannot run <cmd>: <reason>`, status 127. */
const EXEC_FAILED = 127;

/**
 * Runs ad-hoc commands (`POST /v1/run`, Tangle's invoke) each in a fresh sandbox of the server's
 * driver, in the tier the request names (else the default tier): no package (an empty folder),
 * so the driver's default root file system (for bwrap the host's system folders, read-only, and
 * nothing else), or a deployed image's root file system
 * when the request names one; network `none`, the default limits, the run's own time limit.
 * Nothing of one run is kept for the next.
 */
export class AdHocRunner {
  /** Runs at once: the rest wait, so a burst of requests cannot start a sandbox each. */
  private readonly turns = new Turns(4);

  constructor(readonly o: AdHocRunnerOptions) {}

  /** Throws `invalid-body` for a request the run cannot take (empty command, a time over the cap). */
  check(r: RunRequest): void {
    if (r.command.length === 0 || r.command[0] === '') throw new FerryError('invalid-body', 'command: at least the program to run');
    if (r.command.some((a) => a.includes('\0'))) throw new FerryError('invalid-body', 'command: no NUL bytes');
    if (r.timeoutMs !== undefined && (!Number.isInteger(r.timeoutMs) || r.timeoutMs < 1 || r.timeoutMs > this.o.timeoutCapMs)) {
      throw new FerryError('invalid-body', `timeout_ms: an integer from 1 to ${this.o.timeoutCapMs} (--run-timeout)`);
    }
  }

  run(r: RunRequest, sink?: RunSink): Promise<RunOutcome> {
    this.check(r);
    return this.turns.run(async () => {
      const started = performance.now();
      const o = await this.runNow(r, sink);
      this.o.onEnd?.(r.label ?? '', o.failure ?? 'exited', r.command[0]!, performance.now() - started);
      return o;
    });
  }

  private async runNow(r: RunRequest, sink?: RunSink): Promise<RunOutcome> {
    const { driver } = this.o;
    const id = `run-${shortId()}`;
    const runDir = join(this.o.runRoot, id);
    const empty = join(runDir, 'empty');
    await makeRunDir(driver, runDir);
    try {
      await mkdir(empty);
      const timeoutMs = r.timeoutMs ?? this.o.timeoutCapMs;
      let proc: SandboxProcess;
      try {
        // An image's tree is sealed and shared: bound read-only as `/`, as its versions run.
        const root = r.image ? { packageDir: r.image.packageDir, root: 'package' as const, cwd: r.image.cwd, user: r.image.user } : { packageDir: empty, cwd: '/tmp' };
        proc = await driver.spawn({
          instanceId: id, argv: r.command, env: r.image ? r.env : { PATH: DEFAULT_PATH, ...r.env }, runDir, ...root,
          limits: { ...defaultLimits, timeoutMs },
          // No network: an ad-hoc command reaches nothing but its stdin.
          sandbox: { ...defaultSandbox, network: 'none', ...(r.tier && { tier: r.tier }) },
          rootfs: [], runtime: 'exec', stdin: true,
        });
      } catch (err) {
        throw new FerryError('instance-start-failed', `the run's sandbox could not start: ${(err as Error).message}`, { cause: err });
      }
      const cancel = () => void proc.stop(0);
      r.signal?.addEventListener('abort', cancel, { once: true });
      let notFound = false;
      proc.child.once('error', (e: NodeJS.ErrnoException) => (notFound = e.code === 'ENOENT'));
      proc.child.stdin?.on('error', () => {});
      proc.child.stdin?.end(r.stdin);
      let overCap = false;
      // The start of stderr, streamed or not: where the sandbox says that the exec failed.
      let stderrHead = '';
      proc.child.stderr?.on('data', (c: Buffer) => stderrHead.length < 1024 && (stderrHead += c.toString('utf8')));
      const collect = (stream: NodeJS.ReadableStream | null, to?: (c: Buffer) => void) => {
        const chunks: Buffer[] = [];
        let size = 0;
        stream?.on('data', (c: Buffer) => {
          if (overCap) return;
          size += c.length;
          if (size > this.o.maxOutputBytes) {
            overCap = true;
            void proc.stop(0);
            c = c.subarray(0, c.length - (size - this.o.maxOutputBytes));
          }
          if (to) to(c);
          else chunks.push(c);
        });
        return () => Buffer.concat(chunks);
      };
      const stdout = collect(proc.child.stdout, sink?.stdout);
      const streamedErr = sink && withoutExecFailure(r.command[0]!, sink.stderr);
      const stderr = collect(proc.child.stderr, streamedErr?.write);
      const exit = await awaitSandboxExit(proc, timeoutMs, this.o.graceMs, 'close');
      r.signal?.removeEventListener('abort', cancel);
      const out = { stdout: stdout(), stderr: stderr() };
      const execFailed = exit.code === EXEC_FAILED && stderrHead.includes(`: cannot run ${r.command[0]}: No such file or directory`);
      // The sandbox's own line about the failed exec is not the command's output.
      if (execFailed) out.stderr = Buffer.from(out.stderr.toString('utf8').replace(/^[^\n]*: cannot run [^\n]*\n?/m, ''));
      streamedErr?.end(execFailed);
      if (notFound || execFailed) {
        const error = `command not found: ${r.command[0]}`;
        // A streamed answer says it on stderr too, where a reader of the output looks.
        sink?.stderr(Buffer.from(`${error}\n`));
        return { ...out, exitCode: null, error, failure: 'not-found' };
      }
      if (r.signal?.aborted && !exit.timedOut) return { ...out, exitCode: null, error: 'cancelled: the caller left', failure: 'cancelled' };
      if (exit.timedOut) return { ...out, exitCode: null, error: `timed out after ${timeoutMs} ms`, failure: 'timed-out' };
      if (overCap) return { ...out, exitCode: null, error: `killed: its output went over ${this.o.maxOutputBytes} bytes (--run-output-max)`, failure: 'output-cap' };
      if ((await proc.exitReason?.().catch(() => undefined)) === 'oom') return { ...out, exitCode: null, error: `killed: it used more than ${defaultLimits.memoryMb} MB`, failure: 'oom' };
      if (exit.signal !== null || exit.code === null || exit.code > 128) return { ...out, exitCode: exit.code, error: `killed (${await describeExitOf(proc, exit.code, exit.signal)})`, failure: 'killed' };
      return { ...out, exitCode: exit.code, error: exit.code === 0 ? null : `exit status ${exit.code}` };
    } finally {
      await removeRunDir(driver, runDir).catch(() => {});
    }
  }
}

/**
 * A streamed run's stderr without the sandbox's own line about a failed exec (its first line,
 * before anything of the command). The first line is held until it is complete; one that looks
 * like that line is held with all that follows until the run ends, which tells whether it was.
 */
function withoutExecFailure(program: string, to: (c: Buffer) => void): { write(c: Buffer): void; end(execFailed: boolean): void } {
  let held: Buffer | undefined = Buffer.alloc(0);
  let suspect = false;
  const release = (): void => {
    if (held?.length) to(held);
    held = undefined;
  };
  return {
    write(c) {
      if (!held) return to(c);
      held = Buffer.concat([held, c]);
      if (suspect) return;
      const nl = held.indexOf(10);
      if (nl < 0 && held.length < 1024) return;
      suspect = held.subarray(0, nl < 0 ? held.length : nl).toString('utf8').includes(`: cannot run ${program}: No such file or directory`);
      if (!suspect) release();
    },
    end(execFailed) {
      if (suspect && execFailed && held) held = held.subarray(held.indexOf(10) + 1 || held.length);
      release();
    },
  };
}
