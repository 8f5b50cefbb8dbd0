export { loadServerOptions, parseBytes, parseDuration, serverSettings, type ServerOptions } from './options.js';
export { parseRateSpec, type RateSpec } from './rate-spec.js';
