// One request over a keep-alive agent, for the bench scripts that call Ferry's API between runs.
import http from 'node:http';

/** Answers `request(url, method, headers, body)` over `agent`: resolves with status and body text. */
export function keepAliveRequest(agent) {
  return (url, method, headers = {}, body = '') =>
    new Promise((resolve, reject) => {
      const req = http.request(url, { method, agent, headers: { 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
}
