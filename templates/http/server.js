// A Ferry function as an HTTP server: Ferry starts it with PORT set and
// forwards requests to it. Plain node:http, no dependencies.
import http from 'node:http';

const port = Number(process.env.PORT ?? 3000);

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`Hello from an HTTP server: ${req.method} ${req.url}\n${body ? `You sent: ${body}\n` : ''}`);
  });
});

server.listen(port, '127.0.0.1');

// Ferry stops instances with SIGTERM: finish open requests, then exit.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
