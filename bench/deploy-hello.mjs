// Prepares a Ferry data dir holding the benchmark's hello-world function: starts a server on a
// free port, uploads the function through the API, and stops the server again.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../package.json', import.meta.url));
const tar = require('tar');

const sources = {
  node: {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', scaling: { concurrency: 1000, maxInstances: 1 } }),
    'package.json': '{"type":"module"}',
    'index.js': "export default () => 'Hello, World!';\n",
  },
  // The same answer as a web Response: the handler shape most node functions have.
  'node-response': {
    'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js', scaling: { concurrency: 1000, maxInstances: 1 } }),
    'package.json': '{"type":"module"}',
    'index.js': "export default () => new Response('Hello, World!');\n",
  },
  python: {
    'ferry.json': JSON.stringify({ runtime: 'python', handler: 'main.py', scaling: { concurrency: 64, maxInstances: 1 } }),
    'main.py': "def handler(request):\n    return 'Hello, World!'\n",
  },
};

export async function deployHello({ cli, node, dataDir, runtime, args = [] }) {
  const child = spawn(node, [cli, 'server', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const m = /Ferry listening on (http:\/\/[^"\s]+)/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`ferry server exited (${code})`)));
  });
  try {
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
    const files = sources[runtime];
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    const chunks = [];
    for await (const c of tar.c({ gzip: true, cwd: dir, portable: true }, Object.keys(files))) chunks.push(c);
    rmSync(dir, { recursive: true, force: true });
    const res = await fetch(`${url}/v1/functions/hello/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
      body: Buffer.concat(chunks),
    });
    if (res.status !== 201) throw new Error(`deploy answered ${res.status}: ${await res.text()}`);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
