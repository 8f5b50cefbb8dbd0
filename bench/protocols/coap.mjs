// The CoAP client of bench/protocols.mjs: confirmable POSTs to `coap://host:port/<function>` with
// the name as the payload (CoAP has no option for an arbitrary header), written and read with
// coap-packet over a dgram socket of its own. It keeps RFC 7252's rules a real client keeps:
// - a token of its own per request, by which the answer is matched (piggybacked or separate);
// - a message id of its own, never reused on a socket: Ferry (as RFC 7252 §4.5 asks) takes a
//   repeated id from the same address and port within EXCHANGE_LIFETIME (247 s) for a
//   retransmission and answers it from its cache, so after 65,536 ids the client moves to a new
//   socket (a new source port) and closes the old one once its calls ended;
// - a retransmission after ACK_TIMEOUT (2 s), doubling, at most MAX_RETRANSMIT (4) times, until
//   the ACK comes; an empty ACK (the answer is to follow separately) stops them; a confirmable
//   separate answer is acknowledged.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import { generate, parse } from 'coap-packet';

const ACK_TIMEOUT_MS = 2000;
const MAX_RETRANSMIT = 4;
const IDS_PER_SOCKET = 65_536;

/**
 * A client whose `call(name)` answers the payload of a 2.05, and rejects on anything else.
 * `idsPerSocket` is how many message ids a socket uses before the next one takes over.
 */
export function coapClient({ host, port, fn, timeoutMs = 15_000, idsPerSocket = IDS_PER_SOCKET }) {
  const uriPath = { name: 'Uri-Path', value: Buffer.from(fn) };
  const stats = { retransmissions: 0, sockets: 0 };
  let nextToken = 0;
  let current = null;
  const sockets = new Set();

  function openSocket() {
    const s = { sock: dgram.createSocket(isIPv6(host) ? 'udp6' : 'udp4'), nextMid: Math.floor(Math.random() * IDS_PER_SOCKET), used: 0, byToken: new Map(), byMid: new Map() };
    s.sock.on('message', (buf) => onMessage(s, buf));
    s.sock.on('error', () => {}); // a send that fails shows as a call that times out
    sockets.add(s);
    stats.sockets++;
    return s;
  }
  function retireIfDone(s) {
    if (s !== current && s.byToken.size === 0) {
      sockets.delete(s);
      s.sock.close();
    }
  }
  function settle(s, entry, err, body) {
    clearTimeout(entry.retransmit);
    clearTimeout(entry.deadline);
    s.byToken.delete(entry.token);
    s.byMid.delete(entry.mid);
    if (err) entry.reject(err);
    else entry.resolve(body);
    retireIfDone(s);
  }
  function onMessage(s, buf) {
    let m;
    try {
      m = parse(buf);
    } catch {
      return; // not CoAP: nothing of ours
    }
    // a separate answer comes as a confirmable message of its own: acknowledge it (again, if repeated)
    if (m.confirmable) s.sock.send(generate({ ack: true, messageId: m.messageId, code: '0.00' }), port, host);
    if (m.reset) {
      const entry = s.byToken.get(s.byMid.get(m.messageId));
      if (entry) settle(s, entry, new Error('reset (RST) by the server'));
      return;
    }
    if (m.code === '0.00') {
      // an empty ACK: the request arrived, its answer will follow separately
      const entry = s.byToken.get(s.byMid.get(m.messageId));
      if (entry) {
        clearTimeout(entry.retransmit);
        s.byMid.delete(entry.mid);
      }
      return;
    }
    const entry = m.token.length === 4 ? s.byToken.get(m.token.readUInt32BE(0)) : undefined;
    if (!entry) return; // a repeated answer to a call already settled
    if (m.code === '2.05') settle(s, entry, null, m.payload.toString('utf8'));
    else settle(s, entry, new Error(`${m.code}: ${m.payload.toString('utf8').slice(0, 120)}`));
  }

  function call(name) {
    if (!current || current.used === idsPerSocket) {
      const old = current;
      current = openSocket();
      if (old) retireIfDone(old);
    }
    const s = current;
    const mid = s.nextMid;
    s.nextMid = (mid + 1) % IDS_PER_SOCKET;
    s.used++;
    const token = nextToken;
    nextToken = (nextToken + 1) >>> 0;
    const tokenBytes = Buffer.alloc(4);
    tokenBytes.writeUInt32BE(token);
    const packet = generate({ confirmable: true, messageId: mid, token: tokenBytes, code: 'POST', options: [uriPath], payload: Buffer.from(name) });
    return new Promise((resolve, reject) => {
      const entry = { token, mid, resolve, reject, tries: 0 };
      const send = () => s.sock.send(packet, port, host);
      const again = () => {
        if (entry.tries === MAX_RETRANSMIT) return;
        entry.retransmit = setTimeout(() => {
          entry.tries++;
          stats.retransmissions++;
          send();
          again();
        }, ACK_TIMEOUT_MS * 2 ** entry.tries);
      };
      entry.deadline = setTimeout(() => settle(s, entry, new Error(`no answer in ${timeoutMs} ms (${entry.tries} retransmissions)`)), timeoutMs);
      s.byToken.set(token, entry);
      s.byMid.set(mid, token);
      send();
      again();
    });
  }

  return {
    call,
    stats: () => ({ ...stats }),
    close: async () => {
      current = null;
      for (const s of sockets) s.sock.close();
      sockets.clear();
    },
  };
}
