import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { sendProblem, toProblem, type FerryError } from '../../errors/index.js';

/**
 * Ferry's error codes in HTTP: a problem+json answer (RFC 9457) with the code's status, the
 * request id and the server's extra headers. A body the client is still sending past the cap
 * closes the connection rather than be read.
 */
export function renderProblem(res: ServerResponse, err: FerryError, instance: string | undefined, headers: Record<string, string>): void {
  if (err.code === 'body-too-large' && !res.headersSent) res.setHeader('connection', 'close');
  sendProblem(res, err, instance, headers);
}

/** The same on a raw socket (an upgrade request has no response object). */
export function writeRawProblem(socket: Duplex, err: FerryError, headers: Record<string, string>): void {
  const body = JSON.stringify(toProblem(err));
  let head = `HTTP/1.1 ${err.status} ${err.code}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
  for (const [k, v] of Object.entries({ ...headers, ...err.headers })) head += `${k}: ${v}\r\n`;
  socket.end(`${head}\r\n${body}`);
}
