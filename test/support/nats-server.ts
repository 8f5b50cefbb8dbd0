/**
 * A real `nats-server -js` for a test: on a free port, its JetStream files in a temporary folder,
 * stopped (and the folder removed) by `stop()`. `kill()` and `restart()` let a test take NATS away
 * mid-load and bring it back on the same port with the same files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  port: number;
  dir: string;
  /** SIGKILL, as a crash; `restart()` brings it back. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  /** Extra command line arguments (e.g. `--user`, `--pass`; `-c` with a config file). */
  args?: string[];
}

/** Starts nats-server with JetStream; resolves once it listens. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-nats-'));
  let child: ChildProcess | undefined;
  let port = -1;
  const launch = async (): Promise<void> => {
    const proc = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js'), ...(opts.args ?? [])], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    port = await new Promise<number>((resolve, reject) => {
      let log = '';
      const onData = (chunk: Buffer): void => {
        log += chunk.toString();
        const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
        if (m) {
          proc.stderr!.off('data', onData);
          proc.stderr!.resume();
          resolve(Number(m[1]));
        }
      };
      proc.stderr!.on('data', onData);
      proc.once('error', reject);
      proc.once('exit', (code) => reject(new Error(`nats-server exited (${code}) before listening:\n${log}`)));
    });
  };
  const waitExit = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });
  };
  await launch();
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    kill: () => waitExit('SIGKILL'),
    restart: async () => {
      await waitExit('SIGTERM');
      await launch();
    },
    stop: async () => {
      await waitExit('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
