import type { Option } from 'coap-packet';
import { generateBlockOption } from 'coap/dist/lib/block.js';
import { uintValue } from './request-options.js';

/** An answer too big for one datagram, kept for the client to fetch block by block. */
export interface BlockwiseAnswer {
  code: string;
  /** Options every block carries (Content-Format). */
  options: Option[];
  body: Buffer;
  etag: Buffer;
}

/** One block of an answer: its payload and the options that say which block it is. */
export interface AnswerBlock {
  payload: Buffer;
  options: Option[];
  last: boolean;
}

/**
 * Answers sent block-wise (RFC 7959 Block2): the first block goes out with the answer, the client
 * asks for the others by number. Kept per client and request URI until the last block is asked
 * for, idle `idleMs` at most, `maxBytes` in all (the oldest go first; a client asking for a block
 * of an answer no longer kept gets 4.08 and asks again from block 0).
 */
export class Block2Answers {
  private readonly answers = new Map<string, { answer: BlockwiseAnswer; touched: number }>();
  private bytes = 0;
  private etags = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly idleMs: number,
  ) {}

  /** A fresh ETag: blocks of different answers to the same URI must not be mixed. */
  nextEtag(): Buffer {
    const etag = Buffer.alloc(4);
    etag.writeUInt32BE((this.etags = (this.etags + 1) >>> 0));
    return etag;
  }

  keep(key: string, answer: BlockwiseAnswer, now: number): void {
    this.forget(key);
    this.answers.set(key, { answer, touched: now });
    this.bytes += answer.body.length;
    for (const [k, kept] of this.answers) {
      if (this.bytes <= this.maxBytes && now - kept.touched < this.idleMs) break;
      this.forget(k);
    }
  }

  /** Block `num` of the answer kept under `key`; undefined when none is kept or it has no such block. */
  block(key: string, num: number, size: number, now: number): { answer: BlockwiseAnswer; block: AnswerBlock } | undefined {
    const kept = this.answers.get(key);
    if (!kept || now - kept.touched >= this.idleMs || num * size >= kept.answer.body.length) return undefined;
    const block = blockOf(kept.answer, num, size);
    if (block.last) this.forget(key);
    else {
      this.answers.delete(key);
      this.answers.set(key, { answer: kept.answer, touched: now });
    }
    return { answer: kept.answer, block };
  }

  clear(): void {
    this.answers.clear();
    this.bytes = 0;
  }

  private forget(key: string): void {
    const kept = this.answers.get(key);
    if (!kept) return;
    this.answers.delete(key);
    this.bytes -= kept.answer.body.length;
  }
}

/** Block `num` of `size` bytes: Block2, ETag, and on the first block Size2 (the whole size). */
export function blockOf(answer: BlockwiseAnswer, num: number, size: number): AnswerBlock {
  const start = num * size;
  const last = start + size >= answer.body.length;
  const options: Option[] = [...answer.options, { name: 'ETag', value: answer.etag }, { name: 'Block2', value: generateBlockOption(num, last ? 0 : 1, Math.log2(size) - 4) }];
  if (num === 0) options.push({ name: 'Size2', value: uintValue(answer.body.length) });
  return { payload: answer.body.subarray(start, start + size), options, last };
}
