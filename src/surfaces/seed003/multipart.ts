import { FerryError } from '../../errors/index.js';

/** One part of a `multipart/form-data` body. */
export interface FormPart {
  name: string;
  filename?: string;
  contentType: string;
  body: Buffer;
}

/**
 * Parts a form may have: the seed-003 forms have at most four fields (`name`, `description`,
 * `file`, `command`). Tens of thousands of empty parts in one upload held the server's only
 * thread for seconds per megabyte; past this the form is refused before more are read.
 */
export const MAX_FORM_PARTS = 32;
/** The longest header block of one part: a few lines of `Content-Disposition` and `Content-Type`. */
const MAX_PART_HEAD = 8192;

/**
 * The parts of a whole `multipart/form-data` body (RFC 7578), by field name (the first of a
 * repeated name). Throws `invalid-body` on anything that is not well-formed form data, and on a
 * form of more than `MAX_FORM_PARTS` parts or a part whose headers are over 8 KiB.
 */
export function parseFormData(contentType: string, body: Buffer): Map<string, FormPart> {
  const m = /boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!/^multipart\/form-data\b/i.test(contentType) || !boundary) throw new FerryError('invalid-body', 'expected multipart/form-data with a boundary');
  const delimiter = Buffer.from(`--${boundary}`);
  const between = Buffer.from(`\r\n--${boundary}`);
  const parts = new Map<string, FormPart>();
  let at = body.indexOf(delimiter);
  if (at < 0) throw new FerryError('invalid-body', 'the form data holds no part');
  for (let count = 0; ; count++) {
    at += delimiter.length;
    // `--` after a delimiter closes the body.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts;
    if (count === MAX_FORM_PARTS) throw new FerryError('invalid-body', `the form data has more than ${MAX_FORM_PARTS} parts`);
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) throw new FerryError('invalid-body', 'malformed form data: a delimiter is not followed by a line break');
    const headEnd = body.subarray(0, at + 2 + MAX_PART_HEAD + 4).indexOf('\r\n\r\n', at + 2);
    if (headEnd < 0) throw new FerryError('invalid-body', `malformed form data: a part has no end of its headers within ${MAX_PART_HEAD} bytes`);
    const next = body.indexOf(between, headEnd + 4);
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
