import type { IncomingMessage } from 'node:http';
import { FerryError } from '../errors/index.js';

/** JSON bodies of the management API are small; anything larger is a mistake or an attack. */
const MAX_JSON = 1024 * 1024;

/** Reads and parses a JSON body; checks Content-Type and size first. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new FerryError('unsupported-media-type', `expected Content-Type application/json, got '${type || 'none'}'`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON) throw new FerryError('body-too-large', `JSON bodies are limited to ${MAX_JSON} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new FerryError('malformed-json', 'the request body is empty; expected JSON');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FerryError('malformed-json', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}
