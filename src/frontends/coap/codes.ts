import type { ErrorCode, FerryError } from '../../errors/index.js';

/**
 * Ferry's error codes (errors/codes.ts) as CoAP response codes (RFC 7252 §5.9, RFC 8132, RFC
 * 8516): the one table of the CoAP front end. A code not listed maps by its HTTP status
 * (`coapCodeOfStatus`). docs/protocols.md shows the same table.
 */
const errorCodes: Partial<Record<ErrorCode, string>> = {
  'route-not-found': '4.04',
  'function-not-found': '4.04',
  'version-not-found': '4.04',
  'alias-not-found': '4.04',
  // CoAP carries no credentials: a token-only function can only be refused.
  unauthorized: '4.01',
  'invalid-token': '4.01',
  'token-malformed': '4.01',
  'token-expired': '4.01',
  'token-revoked': '4.01',
  forbidden: '4.03',
  'quota-exceeded': '4.03',
  'invalid-header': '4.00',
  'invalid-query': '4.00',
  'method-not-allowed': '4.05',
  'body-too-large': '4.13',
  'unsupported-media-type': '4.15',
  'queue-full': '5.03',
  'shutting-down': '5.03',
  'invoke-timeout': '5.04',
  'instance-crashed': '5.02',
  'instance-oom': '5.02',
  'instance-start-failed': '5.02',
  'function-error': '5.00',
  internal: '5.00',
};

/** The CoAP code of a Ferry error. */
export function coapCodeOfError(err: FerryError): string {
  return errorCodes[err.code] ?? coapCodeOfStatus(err.status);
}

/** HTTP statuses with a CoAP code of the same meaning; the rest map to their class's X.00. */
const statusCodes: ReadonlyMap<number, string> = new Map([
  [201, '2.01'],
  [304, '2.03'],
  [400, '4.00'],
  [401, '4.01'],
  [403, '4.03'],
  [404, '4.04'],
  [405, '4.05'],
  [406, '4.06'],
  [409, '4.09'],
  [412, '4.12'],
  [413, '4.13'],
  [415, '4.15'],
  [422, '4.22'],
  [429, '4.29'],
  [500, '5.00'],
  [501, '5.01'],
  [502, '5.02'],
  [503, '5.03'],
  [504, '5.04'],
]);

/**
 * A function's HTTP status as a CoAP code: 2xx is 2.05 Content (201 is 2.01 Created), a 4xx or 5xx
 * its CoAP namesake or else 4.00 / 5.00; CoAP cannot redirect, so a 3xx other than 304 is 5.02.
 */
export function coapCodeOfStatus(status: number): string {
  const same = statusCodes.get(status);
  if (same) return same;
  if (status >= 200 && status < 300) return '2.05';
  if (status >= 400 && status < 500) return '4.00';
  return status >= 300 && status < 400 ? '5.02' : '5.00';
}
