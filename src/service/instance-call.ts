import { FerryError } from '../errors/index.js';
import { Deadlines } from '../util/deadlines.js';
import type { CallSignal, DeployTarget, InstancePool, InvocationRequest, Lease, ResponseWriter } from '../core/index.js';

/** One call on an instance, as the pipeline makes it (synchronous calls and asynchronous runs). */
export interface InstanceCall {
  requestId: string;
  /** Aborted by the caller (client gone, shutdown) or by the time limit below. */
  signal: CallSignal;
  timeoutMs: number;
  /** `head`: the limit is on the response head (a synchronous call); `end`: on the whole answer. */
  timeoutUntil: 'head' | 'end';
  extraHeaders: string[];
  /** An asynchronous run: waits behind synchronous calls for an instance (see `AcquireOptions`). */
  background?: boolean;
}

const noop = (): void => {};
const BACKGROUND = { background: true } as const;
/** The time limits of every call in flight: one timer per distinct limit, not one per call. */
const limits = new Deadlines();

/**
 * Leases an instance of `target`, hands it the call, and always releases the lease (recycling the
 * instance after a timeout: it may be stuck). Rejects with a FerryError; an instance the kernel
 * killed over its memory limit is reported as `instance-oom`.
 */
export async function callInstance(pool: InstancePool, target: DeployTarget, req: InvocationRequest, res: ResponseWriter, c: InstanceCall): Promise<void> {
  let lease: Lease | undefined;
  let timedOut = false;
  const ms = c.timeoutMs;
  const limit = limits.add(ms, () => {
    timedOut = true;
    c.signal.abort(new FerryError('invoke-timeout', c.timeoutUntil === 'head' ? `no response headers within ${ms} ms` : `no complete answer within ${ms} ms`));
  });
  try {
    // An instance with room now is leased at once: the call goes out in this turn, no await.
    lease = pool.leaseNow?.(target) ?? (await pool.acquire(target, c.signal, c.background ? BACKGROUND : undefined));
    await lease.connector.dispatch(req, res, {
      requestId: c.requestId,
      signal: c.signal,
      onHeaders: c.timeoutUntil === 'head' ? () => limit.cancel() : noop,
      extraHeaders: c.extraHeaders,
    });
  } catch (err) {
    const fe = FerryError.from(err);
    if (fe.code === 'instance-crashed' && lease && (await lease.exitReason()) === 'oom') {
      throw new FerryError('instance-oom', `the instance used more than its ${target.config.limits.memoryMb} MB (limits.memoryMb) and was killed`);
    }
    throw fe;
  } finally {
    limit.cancel();
    lease?.release({ recycle: timedOut });
  }
}
