// The functions of bench/images.mjs: the same busybox program as a container image and as a plain
// function, for `exec` (`cat`, which echoes the request body) and `http` (`httpd` serving one
// file), each at default settings; and a `node` hello-world, measured cold only, to show what the
// pre-booted pool does for a runtime that has one.
import { busyboxImage } from './archive.mjs';
import { packed } from '../deploy-hello.mjs';

export const HELLO = 'Hello, World!';
// The same server in both: busybox httpd on the port Ferry gives the instance.
const httpd = (dir) => ['/bin/sh', '-c', `exec /bin/busybox httpd -f -p "$PORT" -h ${dir}`];

/**
 * name, label, the upload (`body()` and its content type, a `Ferry-Manifest` for images), and what
 * an answer must be: `echo` (a POST whose body comes back) or `body` (a GET answering it).
 */
export const imageRows = [
  {
    name: 'image-exec', label: 'image `exec`: busybox `cat` (Entrypoint `["/bin/cat"]`)', echo: true,
    upload: async () => ({ type: 'application/x-docker-archive', manifest: { runtime: 'exec' }, body: await busyboxImage({ config: { Entrypoint: ['/bin/cat'], Env: ['PATH=/bin'] } }) }),
  },
  {
    name: 'plain-exec', label: 'plain `exec`: `["/bin/busybox", "cat"]` (the host\'s busybox)', echo: true,
    upload: async () => ({ type: 'application/gzip', body: await packed({ 'ferry.json': JSON.stringify({ runtime: 'exec', command: ['/bin/busybox', 'cat'] }) }) }),
  },
  {
    name: 'image-http', label: 'image `http`: busybox `httpd` serving a file', body: HELLO,
    upload: async () => ({
      type: 'application/x-docker-archive',
      manifest: { runtime: 'http' },
      body: await busyboxImage({ extra: { 'www/index.html': HELLO }, config: { Entrypoint: httpd('/www'), Env: ['PATH=/bin'], ExposedPorts: { '8080/tcp': {} } } }),
    }),
  },
  {
    name: 'plain-http', label: 'plain `http`: the host\'s busybox `httpd` serving the same file', body: HELLO,
    upload: async () => ({ type: 'application/gzip', body: await packed({ 'ferry.json': JSON.stringify({ runtime: 'http', command: httpd('/pkg/www') }), 'www/index.html': HELLO }) }),
  },
  {
    name: 'plain-node', label: 'plain `node`: `() => \'Hello, World!\'` (cold only: the runtime with a pool)', body: HELLO, coldOnly: true,
    upload: async () => ({
      type: 'application/gzip',
      body: await packed({ 'ferry.json': JSON.stringify({ runtime: 'node', handler: 'index.js' }), 'package.json': '{"type":"module"}', 'index.js': `export default () => ${JSON.stringify(HELLO)};\n` }),
    }),
  },
];

export const imageRowNames = imageRows.map((r) => r.name);
