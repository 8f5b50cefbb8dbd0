// Prepares a Ferry data dir holding the benchmark's functions: starts a server on a free port,
// uploads the functions through the API, and stops the server again.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/** Deploys the hello-world function of `runtime` (a key of `sources`) as `hello`. */
export async function deployHello({ cli, node, dataDir, runtime, args = [] }) {
  await deployFunctions({ cli, node, dataDir, args, functions: [{ name: 'hello', files: sources[runtime] }] });
}

/** A package as a gzipped tar, from a map of file path to content. */
export async function packed(files) {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), content);
    }
    const chunks = [];
    for await (const c of tar.c({ gzip: true, cwd: dir, portable: true }, Object.keys(files))) chunks.push(c);
    return Buffer.concat(chunks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Deploys each of `functions` ({ name, files }: file name to content) as a first version, a few
 * uploads at a time (the same package is packed once however many functions share it).
 */
export async function deployFunctions({ cli, node, dataDir, args = [], functions, parallel = 4 }) {
  // stderr is kept, not shown: a new data dir's first start prints its admin token there
  const child = spawn(node, [cli, 'server', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  try {
    const url = await new Promise((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (c) => {
        buf += c;
        const m = /Ferry listening on (http:\/\/[^"\s]+)/.exec(buf);
        if (m) resolve(m[1]);
      });
      exited.then(([code]) => reject(new Error(`ferry server exited (${code}): ${stderr.replace(/fry_\w+/g, 'fry_…')}`)));
    });
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const archives = new Map();
    const queue = [...functions];
    const upload = async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        if (!archives.has(f.files)) archives.set(f.files, packed(f.files));
        const res = await fetch(`${url}/v1/functions/${f.name}/versions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' },
          body: await archives.get(f.files),
        });
        if (res.status !== 201) throw new Error(`deploy of ${f.name} answered ${res.status}: ${await res.text()}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, functions.length) }, upload));
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  }
}
