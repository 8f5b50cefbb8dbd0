export { Invoker, type InvokerOptions } from './invoke.js';
export { parseFnPath, parseHost, type InvokeRoute } from './route-parse.js';
