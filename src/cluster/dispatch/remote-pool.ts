/**
 * The instance pool of a gateway node: it runs nothing itself. A call's lease is on a worker
 * chosen by `WorkerChoice` (warm first, then least loaded) and its connector forwards the call
 * there; deploy, roll and stop go to every worker; the instance list and pool state are the
 * workers' last heartbeats.
 */
import { request } from 'node:http';
import { FerryError } from '../../errors/index.js';
import type { AcquireOptions, CallSignal, DeployTarget, InstanceInfo, InstancePool, Lease, PoolStatus } from '../../core/index.js';
import type { ClusterAuth } from './cluster-auth.js';
import { clusterHeaders } from './call-headers.js';
import { CONTROL_HEADER, type ControlMessage } from './control.js';
import { RemoteConnector } from './remote-connector.js';
import type { KnownWorker, WorkerChoice } from './worker-choice.js';

export interface RemotePoolOptions {
  choice: WorkerChoice;
  auth: ClusterAuth;
  warn(message: string, err: unknown): void;
  /** How long a control message may take on a worker (a deploy starts instances). */
  controlTimeoutMs: number;
}

export class RemoteInstancePool implements InstancePool {
  private closed = false;

  constructor(private readonly o: RemotePoolOptions) {}

  async acquire(target: DeployTarget, signal: CallSignal, opts?: AcquireOptions): Promise<Lease> {
    if (this.closed) throw new FerryError('shutting-down', 'the gateway is shutting down');
    const key = `${target.function}@${target.version}`;
    let worker = this.o.choice.choose(key, new Set());
    if (!worker) {
      // None known yet (just started) or all passed over: read the directory once more.
      await this.o.choice.refresh();
      worker = this.o.choice.choose(key, new Set());
    }
    if (!worker) throw new FerryError('no-workers', 'no worker node is alive to run the call; start one (ferry server --role worker)');
    if (signal.aborted) {
      this.o.choice.done(worker);
      throw signal.reason instanceof FerryError ? signal.reason : new FerryError('invoke-timeout', 'the call was cancelled');
    }
    const connector = new RemoteConnector(worker, { choice: this.o.choice, auth: this.o.auth, target, background: opts?.background === true });
    let released = false;
    return {
      instanceId: `remote:${worker.rec.id}`,
      connector,
      release: () => {
        if (released) return;
        released = true;
        // The call may have moved to another worker: that one gives its count back.
        this.o.choice.done(connector.current);
      },
      exitReason: async () => undefined,
    };
  }

  async deploy(target: DeployTarget, atLeastOne: boolean): Promise<void> {
    const results = await this.broadcast({ op: 'deploy', function: target.function, version: target.version, revision: target.revision, atLeastOne });
    // The version must run somewhere before it becomes `latest` (`serveFirst`): one worker is enough.
    if (atLeastOne && !results.some((r) => r === undefined)) {
      throw results.find((r) => r instanceof FerryError) ?? new FerryError('no-workers', 'no worker node is alive to start the version');
    }
  }

  async roll(target: DeployTarget): Promise<void> {
    await this.broadcast({ op: 'roll', function: target.function, version: target.version, revision: target.revision });
  }

  async stop(fn: string, version?: string): Promise<void> {
    await this.broadcast(version === undefined ? { op: 'stop', function: fn } : { op: 'stop', function: fn, version });
  }

  list(fn?: string): InstanceInfo[] {
    return this.o.choice.known().flatMap((w) => (w.rec.instances ?? []).filter((i) => fn === undefined || i.function === fn).map((i) => ({ ...i, node: w.rec.id })));
  }

  /** As the instance's worker last reported it. */
  async memoryOf(instanceId: string): Promise<number | undefined> {
    for (const w of this.o.choice.known()) {
      const found = w.rec.instances?.find((i) => i.id === instanceId);
      if (found) return found.memoryBytes;
    }
    return undefined;
  }

  poolStatus(): PoolStatus {
    const known = this.o.choice.known().filter((w) => w.rec.pool);
    if (known.length === 0) return { enabled: false, reason: 'no worker node has reported yet', size: 0, runtimes: [] };
    // Summed over the workers: what the cluster has pre-booted, per runtime.
    const runtimes = new Map<string, PoolStatus['runtimes'][number]>();
    for (const w of known) {
      for (const r of w.rec.pool!.runtimes) {
        const sum = runtimes.get(r.runtime) ?? { runtime: r.runtime, active: false, ready: 0, starting: 0, pids: [] };
        // Active on any worker (a worker of an earlier release that does not say fills them all).
        sum.active ||= r.active ?? true;
        sum.ready += r.ready;
        sum.starting += r.starting;
        runtimes.set(r.runtime, sum);
      }
    }
    return { enabled: known.some((w) => w.rec.pool!.enabled), size: known.reduce((n, w) => n + w.rec.pool!.size, 0), runtimes: [...runtimes.values()] };
  }

  async shutdown(): Promise<void> {
    this.closed = true;
  }

  /** Sends `msg` to every live worker; answers, per worker, undefined (done) or its error. */
  private async broadcast(msg: ControlMessage): Promise<Array<FerryError | undefined>> {
    await this.o.choice.refresh();
    return Promise.all(
      this.o.choice.known().map((w) =>
        this.control(w, msg).then(
          () => undefined,
          (err: unknown) => {
            const fe = FerryError.from(err);
            this.o.warn(`worker ${w.rec.id} did not ${msg.op} ${msg.function}`, err);
            return fe;
          },
        ),
      ),
    );
  }

  private async control(w: KnownWorker, msg: ControlMessage): Promise<void> {
    const body = JSON.stringify(msg);
    const token = await this.o.auth.tokenFor(w.rec.id);
    await new Promise<void>((resolve, reject) => {
      const req = request({
        protocol: w.address.protocol,
        host: w.address.hostname,
        port: w.address.port,
        agent: w.agent,
        method: 'POST',
        path: '/',
        timeout: this.o.controlTimeoutMs,
        headers: { [clusterHeaders.auth]: token, [CONTROL_HEADER]: msg.op, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.controlTimeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode === 204) return resolve();
          const code = res.headers[clusterHeaders.error];
          let detail: string | undefined;
          try {
            detail = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { detail?: string }).detail;
          } catch {
            detail = `status ${res.statusCode}`;
          }
          reject(new FerryError(typeof code === 'string' && code === 'instance-start-failed' ? 'instance-start-failed' : 'worker-lost', detail));
        });
        res.on('error', reject);
      });
      req.end(body);
    });
  }
}
