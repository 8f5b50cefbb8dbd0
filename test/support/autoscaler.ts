/**
 * The real `ferry autoscaler` as a child process: started with its flags, its JSON log lines
 * kept, ready once it logs that it started (with its metrics address when it serves one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cliPath } from './ferry.js';

export interface AutoscalerRun {
  proc: ChildProcess;
  /** Every log line, parsed (lines that are not JSON as `{ text }`). */
  lines: Array<Record<string, unknown>>;
  metricsUrl: string | undefined;
  /** Its `/metrics` text. */
  metrics(): Promise<string>;
  /** A signal (SIGTERM by default), then its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startAutoscaler(args: string[], env: Record<string, string> = {}): Promise<AutoscalerRun> {
  const proc = spawn(process.execPath, [cliPath, 'autoscaler', ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const started = new Promise<Record<string, unknown>>((resolve, reject) => {
    let buf = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const text of parts) {
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text) as Record<string, unknown>;
        } catch {
          line = { text };
        }
        lines.push(line);
        if (line.msg === 'Ferry autoscaler started') resolve(line);
      }
    });
    proc.stderr!.on('data', (c: Buffer) => lines.push({ stderr: c.toString() }));
    proc.once('exit', (code) => reject(new Error(`ferry autoscaler exited (${code}) before it started:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)));
  });
  const first = await started;
  const metricsUrl = typeof first.metrics === 'string' ? first.metrics : undefined;
  return {
    proc,
    lines,
    metricsUrl,
    async metrics() {
      if (!metricsUrl) throw new Error('this autoscaler serves no metrics (--metrics-listen)');
      return (await fetch(metricsUrl)).text();
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const [code] = (await once(proc, 'exit')) as [number | null];
      return code;
    },
  };
}
