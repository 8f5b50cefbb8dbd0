export { loadServerOptions, parseBytes, parseDuration, serverSettings, type ServerOptions } from './options.js';
