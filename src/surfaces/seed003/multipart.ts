import { FerryError } from '../../errors/index.js';

/** One part of a `multipart/form-data` body. */
export interface FormPart {
  name: string;
  filename?: string;
  contentType: string;
  body: Buffer;
}

/**
 * The parts of a whole `multipart/form-data` body (RFC 7578), by field name (the first of a
 * repeated name). Throws `invalid-body` on anything that is not well-formed form data.
 */
export function parseFormData(contentType: string, body: Buffer): Map<string, FormPart> {
  const m = /boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!/^multipart\/form-data\b/i.test(contentType) || !boundary) throw new FerryError('invalid-body', 'expected multipart/form-data with a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts = new Map<string, FormPart>();
  let at = body.indexOf(delimiter);
  if (at < 0) throw new FerryError('invalid-body', 'the form data holds no part');
  for (;;) {
    at += delimiter.length;
    // `--` after a delimiter closes the body.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts;
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) throw new FerryError('invalid-body', 'malformed form data: a delimiter is not followed by a line break');
    const headEnd = body.indexOf('\r\n\r\n', at + 2);
    if (headEnd < 0) throw new FerryError('invalid-body', 'malformed form data: a part has no end of its headers');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd + 4);
    if (next < 0) throw new FerryError('invalid-body', 'malformed form data: the closing delimiter is missing');
    const part = partOf(body.subarray(at + 2, headEnd).toString('utf8'), body.subarray(headEnd + 4, next));
    if (!parts.has(part.name)) parts.set(part.name, part);
    at = next + 2;
  }
}

function partOf(head: string, body: Buffer): FormPart {
  let disposition = '';
  let contentType = 'application/octet-stream';
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).trim().toLowerCase();
    if (name === 'content-disposition') disposition = line.slice(i + 1);
    else if (name === 'content-type') contentType = line.slice(i + 1).trim();
  }
  const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
  if (!/^\s*form-data/i.test(disposition) || name === undefined) throw new FerryError('invalid-body', 'malformed form data: a part has no Content-Disposition: form-data; name="..."');
  const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
  return { name, ...(filename !== undefined ? { filename } : {}), contentType, body };
}
