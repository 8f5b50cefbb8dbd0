/**
 * A work queue: messages delivered to one consumer at a time under a lease, acknowledged when
 * done, redelivered when not, and set aside as dead letters when they keep failing. Shaped after
 * a NATS JetStream work-queue stream with a pull consumer (ack, nak with a delay, in-progress,
 * term, a delivery count, `max_deliver`), so SQLite and JetStream implement the same thing.
 * Executions and their callbacks run on it.
 */

/** A message to deliver. */
export interface QueueMessage {
  /** Unique in the queue: enqueueing an id that is already waiting or held adds nothing. */
  id: string;
  /** What the message is about (a function's name); a pull can leave some keys for later. */
  key: string;
  data: Buffer;
  /** Not delivered before this time (ms since the epoch); default: at once. */
  notBefore?: number;
  /** Deliveries after which a delivery that is not acknowledged becomes a dead letter; default: no limit. */
  maxDeliveries?: number;
}

/**
 * Who pulls: `name` stays the same across restarts (a node), `session` is new at every start, so
 * what an earlier session of the same consumer held can be given back at once (`recover`).
 */
export interface QueueConsumer {
  name: string;
  session: string;
}

/** One delivery of a message, held under a lease until it is settled or the lease runs out. */
export interface Delivery {
  readonly id: string;
  readonly key: string;
  readonly data: Buffer;
  /** 1 on the first delivery; every redelivery (after a nak, a lease that ran out, a recovery) adds one. */
  readonly deliveryCount: number;
  /** Done: the message leaves the queue. */
  ack(): Promise<void>;
  /** Not done: delivered again after `delayMs` (a dead letter instead when its deliveries are spent). */
  nak(delayMs?: number): Promise<void>;
  /** Still working on it: the lease starts over. */
  inProgress(): Promise<void>;
  /** Never deliver it again: it becomes a dead letter with `reason`. */
  term(reason: string): Promise<void>;
}

/** A message that will not be delivered again unless re-driven. */
export interface DeadLetter {
  id: string;
  key: string;
  data: Buffer;
  /** How many times it was delivered. */
  deliveries: number;
  /** Why: `max-deliveries`, or what `term` was given. */
  reason: string;
  /** When it became a dead letter. */
  at: number;
  /** Order of becoming one, newest highest: the list cursor. */
  seq: number;
}

export interface PullRequest {
  consumer: QueueConsumer;
  /** Most deliveries to answer. */
  max: number;
  /** How long each delivery is held before it may go to someone else (`inProgress` renews). */
  leaseMs: number;
  /** Messages with these keys stay in the queue for this pull. */
  skipKeys?: readonly string[];
  /**
   * How long to wait for a first delivery when none is ready (0 or absent: answer at once). An
   * enqueue, nak or recovery in this process answers a waiting pull at once.
   */
  waitMs?: number;
  /** Ends the wait early (the pull answers what it has: nothing). */
  signal?: AbortSignal;
}

export interface DeadLetterQuery {
  /** Only these keys; undefined: all. */
  keys?: readonly string[];
  /** Only dead letters older (lower `seq`) than this. */
  before?: number;
  limit: number;
}

/** How full a queue is now: what an autoscaler reads. */
export interface QueueStats {
  /** Messages due and waiting for a puller. */
  pending: number;
  /** Messages delivered and not yet settled (running). */
  held: number;
  /** When the oldest due, waiting message fell due (ms since the epoch); undefined when none waits. */
  oldestPendingAt: number | undefined;
}

/** One named work queue. */
export interface Queue {
  /** How many wait and how many are held, and the oldest wait (exact on SQLite, the consumer's counts on JetStream). */
  stats(): Promise<QueueStats>;
  /** Adds messages in one commit (the caller answers only after it). */
  enqueue(messages: QueueMessage[]): Promise<void>;
  /**
   * Due messages oldest first (by first enqueue), each leased to `consumer`. Two pulls never hold
   * the same message at once; a message whose lease ran out is due again.
   */
  pull(req: PullRequest): Promise<Delivery[]>;
  /** Gives back at once what earlier sessions of `consumer.name` held; answers how many. */
  recover(consumer: QueueConsumer): Promise<number>;
  /** Newest first. */
  deadLetters(q: DeadLetterQuery): Promise<DeadLetter[]>;
  deadLetter(id: string): Promise<DeadLetter | undefined>;
  /** Puts a dead letter back into the queue, its delivery count reset; false when there is none. */
  redrive(id: string, notBefore?: number): Promise<boolean>;
  /** Drops dead letters set aside before `before`; answers how many. */
  pruneDeadLetters(before: number): Promise<number>;
}

/** The queues of one Ferry installation, by name (`executions`, `callbacks`). */
export interface Queues {
  readonly kind: string;
  queue(name: string): Queue;
  close(): Promise<void>;
}
