import type { Runtime } from '../core/index.js';
import { nodeRuntime } from './node/node-runtime.js';
import { pythonRuntime } from './python/python-runtime.js';
import { execRuntime } from './exec/exec-runtime.js';
import { httpRuntime } from './http/http-runtime.js';

/** Every runtime by name. A new runtime is a folder plus one line here. */
export const runtimes: ReadonlyMap<string, Runtime> = new Map<string, Runtime>([
  ['node', nodeRuntime],
  ['python', pythonRuntime],
  ['exec', execRuntime],
  ['http', httpRuntime],
]);
