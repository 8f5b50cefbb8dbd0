/**
 * Workers started and stopped by the operator's own program (a systemd template unit, a
 * Kubernetes scale, a cloud API): the hook runs with the target in its environment,
 * FERRY_WORKERS_TARGET, beside FERRY_WORKERS_CURRENT; exit 0 means done. Nothing secret goes
 * on its command line, and the `withheld` variables (the NATS secrets) are not in its
 * environment; its output is logged, its failure retried at the next check.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../../../observe/index.js';
import type { WorkerProvider } from './provider.js';

export interface CommandHookOptions {
  /** The program and its fixed arguments. */
  argv: string[];
  /** How long the hook may take. */
  timeoutMs: number;
  /** The number of workers before the first change (the live ones, by heartbeat). */
  initial: number;
  logger: Logger;
  /** Variables of this process the hook does not inherit (secrets it has no use for). */
  withheld?: readonly string[];
}

export class CommandHookProvider implements WorkerProvider {
  readonly kind = 'command';
  private count: number;

  constructor(private readonly o: CommandHookOptions) {
    this.count = o.initial;
  }

  async current(): Promise<number> {
    return this.count;
  }

  async adopt(live: number): Promise<void> {
    this.count = live;
  }

  async scaleTo(target: number): Promise<void> {
    if (target === this.count) return;
    const [cmd, ...args] = this.o.argv;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(cmd!, args, {
        env: { ...this.inherited(), FERRY_WORKERS_TARGET: String(target), FERRY_WORKERS_CURRENT: String(this.count) },
        timeout: this.o.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 1024 * 1024,
      }, (err, stdout, stderr) => {
        const said = `${stdout}${stderr}`.trim().slice(-2000);
        if (err) reject(new Error(`scale hook failed (${err.message.split('\n')[0]})${said ? `: ${said}` : ''}`));
        else resolve(said);
      });
    });
    this.o.logger.info({ from: this.count, to: target, output }, 'scale hook ran');
    this.count = target;
  }

  async close(): Promise<void> {}

  private inherited(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const name of this.o.withheld ?? []) delete env[name];
    return env;
  }
}
