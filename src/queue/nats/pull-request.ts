/**
 * One pull request on a JetStream consumer, spoken at the protocol level
 * (`$JS.API.CONSUMER.MSG.NEXT`): the client library's fetch waits at least a second and cannot
 * answer "nothing ready" at once, which `pull({ waitMs: 0 })` must.
 */
import { randomBytes } from 'node:crypto';
import type { Msg, NatsConnection } from '@nats-io/transport-node';

export interface NextOptions {
  batch: number;
  /** Wait this long for the batch; absent: answer with what is ready now. */
  expiresMs?: number;
  /**
   * Answers at once with what came and withdraws the request: the inbox is drained, and the
   * server drops a waiting request whose inbox has no subscriber rather than deliver to it.
   */
  signal?: AbortSignal;
  /** A message already on its way when the request was withdrawn: the caller keeps it. */
  late(m: Msg): void;
}

/** JetStream's ack subjects; anything else on the inbox is a status (404, 408, 409). */
const ackPrefix = '$JS.ACK.';

export interface NextAnswer {
  msgs: Msg[];
  /**
   * The request was refused rather than answered (e.g. 409: the consumer has too many waiting
   * requests, or the connection failed): asking again at once would spin.
   */
  refused: boolean;
}

/** Asks `consumer` of `stream` for up to `batch` messages; answers when the request ends or `signal` aborts. */
export function pullNext(nc: NatsConnection, stream: string, consumer: string, o: NextOptions): Promise<NextAnswer> {
  const inbox = `_INBOX.${randomBytes(12).toString('hex')}`;
  return new Promise<NextAnswer>((resolve) => {
    const got: Msg[] = [];
    let answered = false;
    let refused = false;
    let count = 0;
    const answer = (): void => {
      if (answered) return;
      answered = true;
      o.signal?.removeEventListener('abort', withdraw);
      resolve({ msgs: got, refused });
    };
    const end = (): void => {
      clearTimeout(guard);
      if (!sub.isClosed() && !sub.isDraining()) sub.unsubscribe();
      answer();
    };
    // Aborted: without the drain the request would stay at the server until it expires and take
    // the next message for nobody (it would sit here until a later pull, while others wait).
    const withdraw = (): void => {
      answer();
      clearTimeout(guard);
      if (!sub.isClosed() && !sub.isDraining()) sub.drain().catch(() => {});
    };
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (err || !m.reply?.startsWith(ackPrefix)) {
          // 404 (nothing ready) and 408 (the wait ran out) end a request normally.
          const code = m?.headers?.code;
          refused = !!err || (code !== 404 && code !== 408);
          return end();
        }
        if (answered) o.late(m);
        else got.push(m);
        if (++count >= o.batch) end();
      },
    });
    // The server ends the request with a status; should that be lost, the request ends anyway.
    const guard = setTimeout(end, (o.expiresMs ?? 0) + 5000);
    guard.unref();
    if (o.signal?.aborted) return end();
    o.signal?.addEventListener('abort', withdraw, { once: true });
    const body = o.expiresMs ? { batch: o.batch, expires: Math.round(o.expiresMs * 1e6) } : { batch: o.batch, no_wait: true };
    try {
      nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify(body), { reply: inbox });
    } catch {
      refused = true;
      end();
    }
  });
}

/** The stream sequence of a delivered message, from its ack subject. */
export function ackInfo(reply: string): { seq: number } {
  // $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending> (9 tokens), or with a
  // domain and account hash in front and a random token behind (12 tokens).
  const t = reply.split('.');
  const at = t.length === 9 ? 5 : 7;
  return { seq: Number(t[at]) };
}
