/**
 * Ferry processes as nodes of one cluster on a test's nats-server: a gateway and workers on one
 * box, sharing one data dir (each process takes its own server slot in it, so they share the
 * admin token the first one made). A node can be killed, stopped and started again on the same
 * data dir; `dispose()` stops every live one, the first started last.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeFerry, startFerry, type Ferry } from './ferry.js';
import type { NatsServer } from './nats-server.js';
import { childPids } from './procs.js';

export type Role = 'gateway' | 'worker' | 'all';

/**
 * Short heartbeats, so a dead node leaves the directory within seconds; the time to live spans
 * many beats, so a live node on a busy machine never seems to leave.
 */
export const quickBeats = ['--heartbeat-interval', '300ms', '--node-ttl', '4s'];

/** What a test cluster's nodes run with unless told otherwise: no sandbox, no pool, quick heartbeats. */
export const clusterArgs = ['--driver', 'process', '--unsandboxed', '--pool-size', '0', ...quickBeats];

export interface TestCluster {
  /** Starts a node (`extra`: its own settings); the first node started creates the data dir every later one shares. */
  start(role: Role, extra?: string[]): Promise<Ferry>;
  /**
   * `kill -9` of a node, and of its instances with it, as when its machine dies: under the
   * process driver nothing else would end them (bwrap's die with their parent by themselves).
   */
  kill(f: Ferry): Promise<void>;
  /** Whether `f` still runs (neither exited nor killed). */
  alive(f: Ferry): boolean;
  /** Stops every node still running (SIGTERM), with `disposeFerry`'s leak check, and removes the data dir. */
  dispose(): Promise<void>;
}

/**
 * A cluster on `nats` under its own NATS prefix; `args` go to every node after the common ones
 * (`base`: `clusterArgs`, or e.g. `quickBeats` alone for sandboxed nodes with their pool).
 */
export function testCluster(nats: NatsServer, prefix: string, args: string[] = [], base: string[] = clusterArgs): TestCluster {
  const nodes: Ferry[] = [];
  let dataDir: string | undefined;
  return {
    async start(role, extra = []) {
      const f = await startFerry({ args: [...base, '--store', nats.url, '--nats-prefix', prefix, ...args, ...extra, '--role', role], ...(dataDir ? { dataDir } : {}) });
      dataDir ??= f.dataDir;
      nodes.push(f);
      return f;
    },
    async kill(f) {
      const doomed = f.proc.pid === undefined ? [] : descendants(f.proc.pid);
      await f.stop('SIGKILL');
      for (const pid of doomed) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    alive(f) {
      return f.proc.exitCode === null && f.proc.signalCode === null;
    },
    async dispose() {
      const failures: unknown[] = [];
      // Every node stopped (its instances with it) before the shared data dir goes with the first disposal.
      for (const f of nodes.reverse()) await f.stop().catch(() => {});
      for (const f of nodes) await disposeFerry(f).catch((err: unknown) => failures.push(err));
      if (failures.length) throw failures[0];
    },
  };
}

/** The node ids of a data dir's server slots (`node-id`, `node-id.1`, ...). */
export function nodeIds(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^node-id(\.\d+)?$/.test(n)).map((n) => readFileSync(join(dir, n), 'utf8').trim());
}

/** Every live process below `pid`. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (let level = childPids(pid); level.length; level = level.flatMap(childPids)) out.push(...level);
  return out;
}
