/**
 * Where the queues live on JetStream: the names of their streams, subjects, consumer and buckets
 * under a deployment's prefix (so two Ferry deployments share one NATS account), and the
 * encoding of message ids into subject tokens and KV keys.
 */

/** Prefixes and queue names go into stream, bucket and subject names as they are. */
const plainName = /^[A-Za-z0-9_-]{1,64}$/;

export function checkPlainName(what: string, value: string): string {
  if (!plainName.test(value)) throw new Error(`${what} '${value}' may hold only letters, digits, '_' and '-' (at most 64)`);
  return value;
}

/**
 * A message id as one subject token and KV key token. Ids may hold characters neither allows
 * ('.', '*', '>', spaces, any Unicode): base64url of the UTF-8 bytes (a subset of both
 * alphabets), after an `i` so that the empty id is a token too.
 */
export function idToken(id: string): string {
  return `i${Buffer.from(id, 'utf8').toString('base64url')}`;
}

export function idOfToken(token: string): string {
  return Buffer.from(token.slice(1), 'base64url').toString('utf8');
}

/** The names of one deployment's queue objects on JetStream. */
export class QueueLayout {
  constructor(readonly prefix: string) {
    checkPlainName('the NATS prefix', prefix);
  }

  /** The work-queue stream of queue `name`: one message per waiting or held message. */
  stream(name: string): string {
    return `${this.prefix}_queue_${name}`;
  }

  /** Subjects of queue `name`'s messages: one per message id, so the stream holds one per id. */
  subjects(name: string): string {
    return `${this.prefix}.queue.${name}.*`;
  }

  subject(name: string, id: string): string {
    return `${this.prefix}.queue.${name}.${idToken(id)}`;
  }

  /** The one durable pull consumer every node of the deployment pulls queue `name` with. */
  readonly consumer = 'pullers';

  /** Bucket of the delivery records: who holds a message, its delivery count, its ack subject. */
  get heldBucket(): string {
    return `${this.prefix}_queue_held`;
  }

  /** Bucket of the dead letters of every queue. */
  get deadBucket(): string {
    return `${this.prefix}_queue_dead`;
  }

  /** Bucket of the messages enqueued with a not-before time still ahead. */
  get laterBucket(): string {
    return `${this.prefix}_queue_later`;
  }

  /** A message's key in the three buckets. */
  key(name: string, id: string): string {
    return `${name}.${idToken(id)}`;
  }

  /** All of queue `name`'s keys in a bucket. */
  keys(name: string): string {
    return `${name}.>`;
  }
}

/** Message headers: the message's key (URI-encoded: header values are ASCII) and its delivery limit. */
export const keyHeader = 'Ferry-Key';
export const maxDeliveriesHeader = 'Ferry-Max-Deliveries';
