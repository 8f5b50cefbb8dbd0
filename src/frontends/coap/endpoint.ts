import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { generate, parse, type Option, type Packet, type ParsedPacket } from 'coap-packet';
import { generateBlockOption } from 'coap/dist/lib/block.js';
import { CallSignal } from '../../core/index.js';
import { FerryError } from '../../errors/index.js';
import { MemoryWriter } from '../../service/index.js';
import type { FrontEnd, FrontEndContext } from '../frontend.js';
import { Block1Uploads } from './block1-uploads.js';
import { Block2Answers, blockOf } from './block2-answers.js';
import { coapCodeOfError, coapCodeOfStatus } from './codes.js';
import { ConfirmableSender } from './confirmable-sender.js';
import { contentFormatOf } from './content-formats.js';
import { RecentExchanges, type Exchange } from './recent-exchanges.js';
import { CoapRefusal } from './refusal.js';
import { readRequestOptions, uintValue, type BlockOption } from './request-options.js';
import { toInvocation } from './to-invocation.js';

/**
 * How long an answer may take to ride on the ACK (a piggybacked response). Past it an empty ACK
 * goes out first, before the client's ACK_TIMEOUT (2 s at least) has it send the request again,
 * and the answer follows as a confirmable message of its own (RFC 7252 §5.2.2).
 */
const PIGGYBACK_MS = 1500;
/** RFC 7252 §4.8.2: how long a message id names one exchange. */
const EXCHANGE_LIFETIME_MS = 247_000;
const MAX_EXCHANGES = 100_000;
/** The largest block (SZX 6): a block and its header stay under the 1,152-byte message RFC 7252 §4.6 advises. */
const BLOCK_SIZE = 1024;
const BLOCK_IDLE_MS = 60_000;
const BLOCK_BYTES = 64 * 1024 * 1024;
const MAX_MESSAGE = 1400;
const DIAGNOSTIC_BYTES = 256;

interface Answer {
  code: string;
  options: Option[];
  payload: Buffer;
}

/**
 * The CoAP front end (RFC 7252 over UDP, RFC 7959 block-wise): one UDP socket, its message layer
 * (duplicates, piggybacked and separate responses, retransmission), and requests made into
 * invocations of the pipeline. Only coap-packet's codec and coap's block option helpers are used:
 * coap's own server keys block-wise bodies by token, which clients such as libcoap change from
 * block to block, and answers a datagram it cannot parse at 127.0.0.1 rather than at its sender.
 */
class CoapEndpoint implements FrontEnd {
  readonly name = 'coap';
  urls: string[] = [];
  private socket: Socket | undefined;
  private readonly exchanges = new RecentExchanges(EXCHANGE_LIFETIME_MS, MAX_EXCHANGES);
  private readonly sender = new ConfirmableSender();
  private readonly uploads: Block1Uploads;
  private readonly answers = new Block2Answers(BLOCK_BYTES, BLOCK_IDLE_MS);
  private readonly serving = new Set<Promise<void>>();
  private readonly calls = new Set<CallSignal>();
  private messageId = Math.floor(Math.random() * 0x10000);
  /** Datagrams handed to the socket and not sent yet: closing waits for them. */
  private sending = 0;
  private sent: (() => void) | undefined;
  private draining = false;
  private closed = false;

  constructor(private readonly ctx: FrontEndContext) {
    this.uploads = new Block1Uploads(ctx.options.maxBodyBytes, BLOCK_BYTES, BLOCK_IDLE_MS);
  }

  async listen(host: string, port: number): Promise<void> {
    const v6 = isIPv6(host);
    // With `::` one socket takes IPv4 too (as IPv4-mapped addresses): ipv6Only is off.
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => this.ctx.logger.warn({ err }, 'coap: socket error'));
    socket.on('message', (msg, from) => {
      try {
        this.receive(msg, from);
      } catch (err) {
        this.ctx.logger.warn({ err }, 'coap: a datagram could not be handled');
      }
    });
    this.socket = socket;
    this.urls = [`coap://${v6 ? `[${host}]` : host}:${socket.address().port}`];
  }

  async close(drainMs: number): Promise<void> {
    this.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const settled = (): Promise<unknown> => Promise.allSettled([...this.serving]);
    const timedOut = await Promise.race([settled().then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), drainMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      // Calls still running are cut; their callers get 5.03 if the answer can still go out.
      for (const signal of this.calls) signal.abort(new FerryError('shutting-down', 'the server is shutting down'));
      await Promise.race([settled(), new Promise((r) => setTimeout(r, 1000).unref())]);
    }
    // The last answers are still on their way to the socket.
    if (this.sending > 0) await new Promise<void>((r) => (this.sent = r));
    this.closed = true;
    this.sender.clear();
    this.exchanges.clear();
    this.uploads.clear();
    this.answers.clear();
    await new Promise<void>((r) => (this.socket ? this.socket.close(() => r()) : r()));
  }

  /** One datagram: the message layer (RFC 7252 §4). */
  private receive(msg: Buffer, from: RemoteInfo): void {
    let req: ParsedPacket;
    try {
      req = parse(msg);
    } catch {
      return this.reject(msg, from);
    }
    const peer = `${from.address}|${from.port}`;
    if (req.ack || req.reset) return this.sender.settle(`${peer}|${req.messageId}`);
    // Token lengths 9 to 15 are reserved in RFC 7252: a format error.
    if (req.token.length > 8) return this.reject(msg, from);
    if (req.code === '0.00' || !req.code.startsWith('0.')) {
      // A ping (an empty confirmable message) or a response to nothing Ferry asked: reset.
      if (req.confirmable) this.send(generate({ reset: true, messageId: req.messageId, code: '0.00' }), from);
      return;
    }
    const key = `${peer}|${req.messageId}`;
    const seen = this.exchanges.get(key);
    if (seen) {
      // A duplicate: the same ACK again once there is one; the function does not run twice.
      if (req.confirmable && seen.ack) this.send(seen.ack, from);
      return;
    }
    const serving = this.serve(req, from, peer, this.exchanges.begin(key, Date.now()));
    this.serving.add(serving);
    void serving.finally(() => this.serving.delete(serving));
  }

  /** A datagram that does not parse: a confirmable one is reset (RFC 7252 §4.2), others dropped. */
  private reject(msg: Buffer, from: RemoteInfo): void {
    if (msg.length >= 4 && msg[0]! >> 6 === 1 && ((msg[0]! >> 4) & 3) === 0) this.send(generate({ reset: true, messageId: msg.readUInt16BE(2), code: '0.00' }), from);
  }

  private async serve(req: ParsedPacket, from: RemoteInfo, peer: string, ex: Exchange): Promise<void> {
    let emptyAck = false;
    const timer = req.confirmable
      ? setTimeout(() => {
          emptyAck = true;
          ex.ack = generate({ ack: true, messageId: req.messageId, code: '0.00' });
          this.send(ex.ack, from);
        }, PIGGYBACK_MS)
      : undefined;
    let answer: Answer;
    try {
      answer = await this.answer(req, peer);
    } catch (err) {
      answer = this.refusal(err);
    } finally {
      clearTimeout(timer);
    }
    if (this.closed) return;
    try {
      this.reply(req, from, peer, ex, emptyAck, answer);
    } catch (err) {
      this.ctx.logger.error({ err }, 'coap: an answer could not be sent');
    }
  }

  /** Piggybacked on the ACK, or after an empty ACK as a confirmable message, or non-confirmable. */
  private reply(req: ParsedPacket, from: RemoteInfo, peer: string, ex: Exchange, emptyAck: boolean, answer: Answer): void {
    const packet: Packet = { token: req.token, code: answer.code, options: answer.options, payload: answer.payload };
    if (req.confirmable && !emptyAck) {
      ex.ack = generate({ ...packet, ack: true, messageId: req.messageId }, MAX_MESSAGE);
      this.send(ex.ack, from);
    } else if (req.confirmable) {
      const messageId = this.nextMessageId();
      this.sender.send((m) => this.send(m, from), `${peer}|${messageId}`, generate({ ...packet, confirmable: true, messageId }, MAX_MESSAGE));
    } else {
      this.send(generate({ ...packet, confirmable: false, messageId: this.nextMessageId() }, MAX_MESSAGE), from);
    }
  }

  /** A request's answer: a block of a kept answer, 2.31 for a body's block, or the function's answer. */
  private async answer(req: ParsedPacket, peer: string): Promise<Answer> {
    if (this.draining) throw new FerryError('shutting-down', 'the server is shutting down');
    const o = readRequestOptions(req);
    const now = Date.now();
    const answerKey = `${peer}|${req.code}|${o.segments.join('/')}?${o.query.join('&')}`;
    const blockSize = Math.min(o.block2?.size ?? BLOCK_SIZE, BLOCK_SIZE);
    if (o.block2 && o.block2.num > 0) {
      const kept = this.answers.block(answerKey, o.block2.num, blockSize, now);
      if (!kept) throw new CoapRefusal('4.08', `block ${o.block2.num} of an answer Ferry no longer keeps; ask again from block 0`);
      return { code: kept.answer.code, options: kept.block.options, payload: kept.block.payload };
    }
    let body = req.payload;
    const extra: Option[] = [];
    if (o.block1) {
      const whole = this.uploads.add(`${answerKey}|${o.requestTag}`, o.block1, req.payload, o.size1, now);
      extra.push({ name: 'Block1', value: blockValue(o.block1) });
      if (!whole) return { code: '2.31', options: extra, payload: Buffer.alloc(0) };
      body = whole;
    } else if (Math.max(body.length, o.size1 ?? 0) > this.ctx.options.maxBodyBytes) {
      throw new FerryError('body-too-large', `the request body is ${Math.max(body.length, o.size1 ?? 0)} bytes; the limit is ${this.ctx.options.maxBodyBytes}`);
    }
    const signal = new CallSignal();
    const max = this.ctx.options.maxBodyBytes;
    const writer = new MemoryWriter(max, () => signal.abort(new FerryError('function-error', `the function answered more than ${max} bytes (--max-body)`)));
    this.calls.add(signal);
    let out;
    try {
      out = await this.ctx.invoke(toInvocation(req.code, o, body, signal), writer);
    } finally {
      this.calls.delete(signal);
    }
    if (out.error) throw out.error;
    const format = contentFormatOf(writer.header('content-type'));
    if (format !== undefined) extra.push({ name: 'Content-Format', value: uintValue(format) });
    const code = coapCodeOfStatus(writer.statusCode);
    const payload = writer.body();
    if (payload.length <= blockSize) return { code, options: extra, payload };
    const kept = { code, options: extra.filter((x) => x.name !== 'Block1'), body: payload, etag: this.answers.nextEtag() };
    this.answers.keep(answerKey, kept, now);
    const first = blockOf(kept, 0, blockSize);
    return { code, options: [...extra.filter((x) => x.name === 'Block1'), ...first.options], payload: first.payload };
  }

  /** A failure as a CoAP answer: its code, and a diagnostic payload (RFC 7252 §5.5.2). */
  private refusal(err: unknown): Answer {
    if (err instanceof CoapRefusal) return { code: err.code, options: err.options, payload: diagnostic(err.message) };
    const e = FerryError.from(err);
    if (e.code === 'internal') this.ctx.logger.error({ err }, 'coap: a request failed');
    const options: Option[] = e.code === 'body-too-large' ? [{ name: 'Size1', value: uintValue(this.ctx.options.maxBodyBytes) }] : [];
    return { code: coapCodeOfError(e), options, payload: diagnostic(`${e.code}: ${e.message}`) };
  }

  private send(message: Buffer, to: RemoteInfo): void {
    if (this.closed) return;
    this.sending++;
    this.socket!.send(message, to.port, to.address, this.onSent);
  }

  private readonly onSent = (): void => {
    if (--this.sending === 0 && this.sent) this.sent();
  };

  private nextMessageId(): number {
    return (this.messageId = (this.messageId + 1) & 0xffff);
  }
}

function blockValue(b: BlockOption): Buffer {
  return generateBlockOption(b.num, b.more ? 1 : 0, Math.log2(b.size) - 4);
}

function diagnostic(text: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  return b.length <= DIAGNOSTIC_BYTES ? b : b.subarray(0, DIAGNOSTIC_BYTES);
}

/** Binds the CoAP front end on `host:port` and serves until closed. */
export async function startCoapEndpoint(ctx: FrontEndContext, host: string, port: number): Promise<FrontEnd> {
  const endpoint = new CoapEndpoint(ctx);
  await endpoint.listen(host, port);
  return endpoint;
}
