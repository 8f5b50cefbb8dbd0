/**
 * An origin a CORS setting may name: `*`, `http(s)://host[:port]` in lower case, or the suffix
 * form `https://*.example.com` (any host below that domain).
 */
export const originPattern = '^(\\*|https?://(\\*\\.)?[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?)$';
