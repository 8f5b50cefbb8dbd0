/** What starts and stops workers for the autoscaler: local processes, or the operator's command. */
export interface WorkerProvider {
  readonly kind: string;
  /** How many workers the provider runs now (started and not yet stopped). */
  current(): Promise<number>;
  /** Starts or stops workers until `target` run. Throws when it could not: the next check retries. */
  scaleTo(target: number): Promise<void>;
  /**
   * When this autoscaler takes the lease: `live` workers run by heartbeat. A provider that cannot
   * count its workers itself (a command hook) starts from that; one that owns them ignores it.
   */
  adopt?(live: number): Promise<void>;
  /** Stops what the provider owns (local processes); a command hook leaves its workers alone. */
  close(): Promise<void>;
}
