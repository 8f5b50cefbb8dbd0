/**
 * Workers as child processes of the autoscaler, on its own machine: one box, tests, a lab. Each
 * worker gets a data dir of its own under `dataRoot` (FERRY_DATA_DIR) and a free port
 * (FERRY_PORT=0); the rest of its settings come from `env` (the store URL among them), never
 * from a command line another local user could read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../observe/index.js';
import type { WorkerProvider } from './provider.js';

export interface LocalProcessOptions {
  /** The worker's program and arguments, e.g. [node, ferry's main.js, 'server', '--role', 'worker']. */
  argv: string[];
  /** Environment of every worker (merged over the autoscaler's own). */
  env?: NodeJS.ProcessEnv;
  /** Each worker's data dir is `<dataRoot>/worker-<n>`. */
  dataRoot: string;
  /** How long a stopped worker may drain before it is killed. */
  stopTimeoutMs: number;
  logger: Logger;
}

interface Worker {
  n: number;
  child: ChildProcess;
  exited: Promise<void>;
}

export class LocalProcessProvider implements WorkerProvider {
  readonly kind = 'local';
  private readonly workers: Worker[] = [];
  private next = 1;

  constructor(private readonly o: LocalProcessOptions) {}

  async current(): Promise<number> {
    return this.workers.length;
  }

  /** The pids of the running workers, oldest first. */
  pids(): number[] {
    return this.workers.map((w) => w.child.pid ?? -1);
  }

  async scaleTo(target: number): Promise<void> {
    while (this.workers.length < target) this.start();
    const stopping: Array<Promise<void>> = [];
    // The newest go first: the oldest hold the warmest instances.
    while (this.workers.length > target) stopping.push(this.stop(this.workers.pop()!));
    await Promise.all(stopping);
  }

  async close(): Promise<void> {
    await this.scaleTo(0);
  }

  private start(): void {
    const n = this.next++;
    const dataDir = join(this.o.dataRoot, `worker-${n}`);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const [cmd, ...args] = this.o.argv;
    const child = spawn(cmd!, args, {
      env: { ...process.env, ...this.o.env, FERRY_DATA_DIR: dataDir, FERRY_PORT: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const worker: Worker = {
      n,
      child,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    child.once('error', (err) => this.o.logger.warn({ err, worker: n }, 'could not start a worker'));
    // A worker that dies on its own leaves the count: the next check starts another if needed.
    void worker.exited.then(() => {
      const i = this.workers.indexOf(worker);
      if (i >= 0) {
        this.workers.splice(i, 1);
        this.o.logger.warn({ worker: n, code: child.exitCode, signal: child.signalCode }, 'a worker exited');
      }
    });
    this.workers.push(worker);
    this.o.logger.info({ worker: n, pid: child.pid, dataDir }, 'worker started');
  }

  private async stop(w: Worker): Promise<void> {
    if (w.child.exitCode !== null || w.child.signalCode !== null) return;
    // SIGTERM: the worker stops taking executions and finishes the ones it runs.
    w.child.kill('SIGTERM');
    const timer = setTimeout(() => w.child.kill('SIGKILL'), this.o.stopTimeoutMs);
    await w.exited;
    clearTimeout(timer);
    this.o.logger.info({ worker: w.n, pid: w.child.pid }, 'worker stopped');
  }
}
