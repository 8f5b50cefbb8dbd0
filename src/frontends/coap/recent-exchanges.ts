/** What Ferry knows of one request message it received (RFC 7252 §4.5). */
export interface Exchange {
  /** The ACK sent for it (piggybacked answer or empty), sent again for each duplicate. */
  ack: Buffer | undefined;
  received: number;
}

/**
 * The requests received in the last `lifetimeMs` (EXCHANGE_LIFETIME), by endpoint and message
 * id: a retransmission of one of them is a duplicate, and its function must not run again. At
 * most `maxEntries` are kept (the oldest go first), so a flood of message ids costs bounded memory.
 */
export class RecentExchanges {
  private readonly exchanges = new Map<string, Exchange>();

  constructor(
    private readonly lifetimeMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: string): Exchange | undefined {
    return this.exchanges.get(key);
  }

  /** Records a new request; the map's order is arrival order, so expiry stops at the first fresh one. */
  begin(key: string, now: number): Exchange {
    for (const [k, ex] of this.exchanges) {
      if (now - ex.received < this.lifetimeMs && this.exchanges.size < this.maxEntries) break;
      this.exchanges.delete(k);
    }
    const ex: Exchange = { ack: undefined, received: now };
    this.exchanges.set(key, ex);
    return ex;
  }

  clear(): void {
    this.exchanges.clear();
  }
}
