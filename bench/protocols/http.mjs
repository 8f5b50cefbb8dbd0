// The HTTP client of bench/protocols.mjs: `GET /fn/<function>` with the name in `X-Name`, as the
// warm runner's headline row sends it, over keep-alive connections of a node:http Agent (one per
// call in flight). undici is not one of Ferry's dependencies; node:http is what Node programs
// without it use.
import http from 'node:http';

/** A client whose `call(name)` answers the body of a 200, and rejects on anything else. */
export function httpClient({ host, port, fn, connections, timeoutMs = 10_000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const path = `/fn/${fn}`;
  return {
    call: (name) =>
      new Promise((resolve, reject) => {
        const req = http.request({ host, port, path, agent, headers: { 'x-name': name } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200) resolve(body);
            else reject(new Error(`status ${res.statusCode}: ${body.slice(0, 120)}`));
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
        req.end();
      }),
    close: async () => agent.destroy(),
  };
}
