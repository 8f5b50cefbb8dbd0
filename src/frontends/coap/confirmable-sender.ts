/** RFC 7252 §4.8 transmission parameters (the defaults). */
const ACK_TIMEOUT_MS = 2000;
const ACK_RANDOM_FACTOR = 1.5;
const MAX_RETRANSMIT = 4;

interface Pending {
  timer: NodeJS.Timeout;
}

/**
 * Confirmable messages Ferry sends (separate responses): each is sent again with exponential
 * back-off until the client acknowledges or resets it, MAX_RETRANSMIT times at most (RFC 7252 §4.2).
 */
export class ConfirmableSender {
  private readonly pending = new Map<string, Pending>();

  /** `key`: endpoint and message id, as the client's ACK or RST names it. */
  send(transmitOnce: (message: Buffer) => void, key: string, message: Buffer): void {
    let timeout = ACK_TIMEOUT_MS * (1 + (ACK_RANDOM_FACTOR - 1) * Math.random());
    let sent = 0;
    const transmit = (): void => {
      transmitOnce(message);
      if (sent++ === MAX_RETRANSMIT) {
        this.pending.delete(key);
        return;
      }
      const timer = setTimeout(transmit, timeout);
      timeout *= 2;
      this.pending.set(key, { timer });
    };
    transmit();
  }

  /** The client acknowledged (or reset) the message: no more retransmissions. */
  settle(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(key);
  }

  clear(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
