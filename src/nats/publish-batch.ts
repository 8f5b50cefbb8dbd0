/**
 * Publishing a batch to JetStream with one answer instead of one per message: every message but
 * the last goes out as a plain publish, the last as a JetStream publish. The server takes a
 * connection's messages in order, so JetStream's answer to the last one comes once the stream
 * has taken every one before it. What this gives up: a message before the last that the stream
 * refuses (a limit) is dropped without a word; the store's history and log streams have no such
 * limit. A message id (`msgId`) still makes a batch sent twice stored once.
 */
import type { NatsHandle } from './connection.js';
import { guarded } from './unavailable.js';

export interface BatchMessage {
  subject: string;
  data: string | Uint8Array;
  /** JetStream's de-duplication id (`Nats-Msg-Id`). */
  msgId?: string;
}

export function publishBatch(h: Pick<NatsHandle, 'nc' | 'js'>, batch: readonly BatchMessage[]): Promise<void> {
  return guarded(() => publish(h, batch));
}

async function publish(h: Pick<NatsHandle, 'nc' | 'js'>, batch: readonly BatchMessage[]): Promise<void> {
  const last = batch.at(-1);
  if (!last) return;
  const { headers } = await import('@nats-io/transport-node');
  for (const m of batch.slice(0, -1)) {
    let opts = {};
    if (m.msgId !== undefined) {
      const hdr = headers();
      hdr.set('Nats-Msg-Id', m.msgId);
      opts = { headers: hdr };
    }
    h.nc.publish(m.subject, m.data, opts);
  }
  await h.js.publish(last.subject, last.data, last.msgId !== undefined ? { msgID: last.msgId } : {});
}
