export { loadServerOptions, parseBytes, parseDuration, readSetting, serverSettings, type ServerOptions, type SettingSpec } from './options.js';
export { parseRateSpec, type RateSpec } from './rate-spec.js';
