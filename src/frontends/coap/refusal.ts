import type { Option } from 'coap-packet';

/**
 * A request the CoAP layer itself answers, with a code Ferry's error registry has no name for
 * (4.02 Bad Option, 4.08 Request Entity Incomplete, 5.05 Proxying Not Supported, ...): the code,
 * a diagnostic payload (RFC 7252 §5.5.2) and the options the answer carries.
 */
export class CoapRefusal extends Error {
  constructor(
    readonly code: string,
    diagnostic: string,
    readonly options: Option[] = [],
  ) {
    super(diagnostic);
  }
}
