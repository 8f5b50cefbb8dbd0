/**
 * The `Response` class node functions see. Node 20's own (undici's) wraps every body in a web
 * `ReadableStream`, and constructing one costs ~17 µs there (measured): more than everything
 * else of a warm call put together. This class keeps a string or bytes body as it is, answers
 * `text()`, `json()`, `arrayBuffer()`, `blob()` and `bytes()` from it, and builds Node's own
 * Response only when something needs the stream (`body`, `formData()`). Any other body (a stream,
 * a Blob, FormData, URLSearchParams) or an init it does not handle itself goes to Node's class at
 * once, wrapped, so behaviour and errors stay Node's. `instanceof Response` holds for both kinds
 * and for the Responses `fetch()` returns. Runs inside the instance; the shim installs it as the
 * global `Response` before the function's module loads.
 */
import * as nodeStream from 'node:stream';
import { inspect } from 'node:util';

const NativeResponse = globalThis.Response;
type Native = InstanceType<typeof NativeResponse>;

/** A body kept as it was given: a string, or a private copy of the bytes. */
type Source = string | Uint8Array<ArrayBuffer>;

/** What the shim needs to send a Response without touching its stream. */
export interface ResponseParts {
  status: number;
  /** Flat name/value list, names lower case, as `Headers` iterates them. */
  headers: string[];
  /** null: no body (or a stream). */
  source: Source | null;
  /** A stream body, not touched yet: the shim reads it as Node's class would hand it out. */
  stream?: ReadableStream<Uint8Array>;
}

const TEXT_TYPE = 'text/plain;charset=UTF-8';
const JSON_TYPE = 'application/json';
/** Statuses whose responses never have a body (the fetch standard's "null body status"). */
const nullBodyStatus = (s: number): boolean => s === 101 || s === 103 || s === 204 || s === 205 || s === 304;
/** The reason-phrase token of RFC 9110. */
const reasonPhrase = /^[\t\x20-\x7e\x80-\xff]*$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function plainInit(init: unknown): init is ResponseInit {
  if (init === undefined || init === null) return true;
  if (typeof init !== 'object') return false;
  const { status, statusText } = init as ResponseInit;
  if (status !== undefined && !(Number.isInteger(status) && status >= 200 && status <= 599)) return false;
  return statusText === undefined || (typeof statusText === 'string' && reasonPhrase.test(statusText));
}

/** The bytes of a BufferSource, copied: the fetch standard snapshots them at construction. */
function bytesOf(body: ArrayBuffer | ArrayBufferView): Uint8Array<ArrayBuffer> {
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  const copy = new Uint8Array(body.byteLength);
  copy.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  return copy;
}

/** A body this class keeps itself: null for none, undefined for one only Node's class handles. */
function keptBody(body: BodyInit | null | undefined): Source | null | undefined {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return body;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return bytesOf(body);
  return undefined;
}

/** Node's `stream.isDisturbed` (since 16.8; its type declarations lack it): read from, or cancelled. */
const isDisturbed = (nodeStream as unknown as { isDisturbed(stream: unknown): boolean }).isDisturbed;

/** A stream Node's class would take as a body: not locked, never read from. */
function usableStream(body: unknown): body is ReadableStream<Uint8Array> {
  return body instanceof ReadableStream && !body.locked && !isDisturbed(body);
}

function unusable(): TypeError {
  return new TypeError('Body is unusable: Body has already been read');
}

let partsOf: (r: Response) => ResponseParts | undefined;

export class Response {
  #status = 200;
  #statusText = '';
  #headers: Headers | undefined;
  /** The content type the body implies, until `headers` is built. */
  #impliedType: string | undefined;
  #source: Source | null = null;
  /** A stream body, kept as given until something needs Node's class. */
  #stream: ReadableStream<Uint8Array> | null = null;
  #used = false;
  /** Node's own Response, once one exists: from then on it answers everything. */
  #native: Native | undefined;

  constructor(body?: BodyInit | null, init?: ResponseInit) {
    this.#init(body, init, TEXT_TYPE);
  }

  #init(body: BodyInit | null | undefined, init: ResponseInit | undefined, stringType: string): void {
    const source = keptBody(body);
    const stream = source === undefined && usableStream(body) ? body : undefined;
    if ((source === undefined && stream === undefined) || !plainInit(init) || ((source !== null || stream) && nullBodyStatus(init?.status ?? 200))) {
      this.#native = new NativeResponse(body, init);
      return;
    }
    if (stream) this.#stream = stream;
    else this.#source = source!;
    if (init) {
      if (init.status !== undefined) this.#status = init.status;
      if (init.statusText !== undefined) this.#statusText = init.statusText;
      // Built at once so a bad header throws here, as Node's own constructor does.
      if (init.headers !== undefined) this.#headers = new Headers(init.headers);
    }
    if (typeof source === 'string') this.#implyType(stringType);
  }

  /** Sets the content type a body implies unless the headers name one. */
  #implyType(type: string): void {
    if (this.#headers === undefined) this.#impliedType = type;
    else if (!this.#headers.has('content-type')) this.#headers.set('content-type', type);
  }

  static {
    partsOf = (r) => {
      if (r.#native !== undefined || r.#used) return undefined;
      const stream = r.#stream;
      if (stream !== null && !usableStream(stream)) return undefined;
      const headers: string[] = [];
      if (r.#headers !== undefined) r.#headers.forEach((value, name) => headers.push(name, value));
      else if (r.#impliedType !== undefined) headers.push('content-type', r.#impliedType);
      return stream === null ? { status: r.#status, headers, source: r.#source } : { status: r.#status, headers, source: null, stream };
    };
  }

  /** Node's own Responses (from `fetch()`, `Response.error()`) are Responses too; a subclass checks as usual. */
  static [Symbol.hasInstance](this: unknown, value: unknown): boolean {
    if (this !== Response) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (typeof value === 'object' && value !== null && #status in value) || value instanceof NativeResponse;
  }

  static error(): Native {
    return NativeResponse.error();
  }

  static redirect(url: string | URL, status?: number): Native {
    return NativeResponse.redirect(url, status);
  }

  static json(data: unknown, init?: ResponseInit): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const r = new Response();
    r.#init(text, init, JSON_TYPE);
    return r;
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }

  get type(): ResponseType {
    return this.#native ? this.#native.type : 'default';
  }

  get url(): string {
    return this.#native ? this.#native.url : '';
  }

  get redirected(): boolean {
    return this.#native ? this.#native.redirected : false;
  }

  get status(): number {
    return this.#native ? this.#native.status : this.#status;
  }

  get ok(): boolean {
    const s = this.status;
    return s >= 200 && s <= 299;
  }

  get statusText(): string {
    return this.#native ? this.#native.statusText : this.#statusText;
  }

  get headers(): Headers {
    if (this.#native) return this.#native.headers;
    if (this.#headers === undefined) {
      this.#headers = new Headers();
      if (this.#impliedType !== undefined) this.#headers.set('content-type', this.#impliedType);
    }
    return this.#headers;
  }

  get bodyUsed(): boolean {
    if (this.#native) return this.#native.bodyUsed;
    return this.#stream !== null ? isDisturbed(this.#stream) : this.#used;
  }

  /** The body as a stream: the one given, or Node's own Response's. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream !== null) return this.#stream;
    return this.#nativeNow().body;
  }

  text(): Promise<string> {
    if (this.#native || this.#stream) return this.#nativeNow().text();
    return this.#take((s) => (typeof s === 'string' ? s : decoder.decode(s)));
  }

  json(): Promise<unknown> {
    if (this.#native || this.#stream) return this.#nativeNow().json();
    return this.#take((s) => JSON.parse(typeof s === 'string' ? s : decoder.decode(s)) as unknown);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.#native || this.#stream) return this.#nativeNow().arrayBuffer();
    return this.#take((s) => {
      const bytes = typeof s === 'string' ? encoder.encode(s) : s.slice();
      return bytes.buffer as ArrayBuffer;
    });
  }

  bytes(): Promise<Uint8Array> {
    if (this.#native || this.#stream) return (this.#nativeNow() as Native & { bytes(): Promise<Uint8Array> }).bytes();
    return this.#take((s) => (typeof s === 'string' ? encoder.encode(s) : s.slice()));
  }

  blob(): Promise<Blob> {
    if (this.#native || this.#stream) return this.#nativeNow().blob();
    const type = this.headers.get('content-type') ?? '';
    return this.#take((s) => new Blob([s], { type }));
  }

  formData(): Promise<FormData> {
    return this.#nativeNow().formData();
  }

  clone(): Response {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    const copy = new Response();
    copy.#setFrom(this);
    return copy;
  }

  #setFrom(from: Response): void {
    if (from.#native || from.#stream) {
      this.#native = from.#nativeNow().clone();
      return;
    }
    this.#status = from.#status;
    this.#statusText = from.#statusText;
    this.#headers = from.#headers === undefined ? undefined : new Headers(from.#headers);
    this.#impliedType = from.#impliedType;
    this.#source = from.#source; // strings are immutable and the bytes are a copy nobody writes to
  }

  /**
   * Reads the kept body as `convert` makes it. A body is read once (later reads fail, as the
   * standard says); no body reads as empty, any number of times.
   */
  #take<T>(convert: (source: Source) => T): Promise<T> {
    if (this.#used) return Promise.reject(unusable());
    const source = this.#source;
    if (source !== null) {
      this.#used = true;
      this.#source = null;
    }
    try {
      return Promise.resolve(convert(source ?? ''));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Node's own Response with this one's state; a body already read stays read. */
  #nativeNow(): Native {
    if (this.#native) return this.#native;
    const stream = this.#stream;
    // A stream read or locked through `body` is a body already used, as far as Node's class goes.
    const used = this.#used || (stream !== null && !usableStream(stream));
    const native = new NativeResponse(used ? 'x' : (stream ?? this.#source), { status: this.#status, statusText: this.#statusText, headers: this.headers });
    if (used) void native.arrayBuffer().catch(() => {});
    this.#source = null;
    this.#stream = null;
    this.#native = native;
    return native;
  }

  [inspect.custom](depth: number, options: object): string {
    const view = { status: this.status, statusText: this.statusText, headers: this.headers, body: this.#native ? this.#native.body : (this.#stream ?? this.#source), bodyUsed: this.bodyUsed, ok: this.ok, redirected: this.redirected, type: this.type, url: this.url };
    return `Response ${inspect(view, { ...options, depth })}`;
  }
}

/** The status, headers and kept body of one of ours not yet read; undefined for any other. */
export function responseParts(r: unknown): ResponseParts | undefined {
  // A subclass may override what is read here: it goes the general way.
  return typeof r === 'object' && r !== null && Object.getPrototypeOf(r) === Response.prototype ? partsOf(r as Response) : undefined;
}
