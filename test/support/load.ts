export interface CallResult {
  /** The phase the test was in when the call started. */
  phase: string;
  status: number;
  body: string;
  /** Set when the call failed at the connection level (no HTTP answer). */
  error?: string;
}

/**
 * A continuous load: `workers` loops, each calling `call()` back to back until `stop()`. Every
 * call is recorded with the phase (set by the test) in which it started, so assertions can be
 * about "calls started after the change returned" without any timing.
 */
export class Load {
  readonly results: CallResult[] = [];
  phase = 'before';
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(workers: number, call: () => Promise<Response>) {
    this.loops = Array.from({ length: workers }, async () => {
      while (!this.stopped) {
        const phase = this.phase;
        try {
          const res = await call();
          this.results.push({ phase, status: res.status, body: await res.text() });
        } catch (err) {
          this.results.push({ phase, status: 0, body: '', error: err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err) });
        }
      }
    });
  }

  /** Calls that completed and started in `phase`. */
  count(phase: string): number {
    return this.results.filter((r) => r.phase === phase).length;
  }

  async stop(): Promise<CallResult[]> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.results;
  }
}
