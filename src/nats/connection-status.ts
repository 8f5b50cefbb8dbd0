/**
 * Which NATS connections have lost their server and are reconnecting. While one is, a call that
 * has not been sent yet fails at once (`guarded` with a function) instead of waiting out the
 * client's request timeout (5 to 10 s), and is not sent at all.
 */
import type { NatsConnection } from '@nats-io/transport-node';

const down = new Set<NatsConnection>();

/** Whether a connection of this process is down (reconnecting). */
export function natsAway(): boolean {
  return down.size > 0;
}

/** Follows `nc`'s status events for as long as it lives. */
export function followStatus(nc: NatsConnection): void {
  const follow = async (): Promise<void> => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') down.add(nc);
      else if (s.type === 'reconnect') down.delete(nc);
    }
  };
  // A closed connection is no longer anyone's: its callers get ClosedConnectionError anyway.
  void follow().catch(() => {}).finally(() => down.delete(nc));
  void nc.closed().then(() => down.delete(nc));
}
