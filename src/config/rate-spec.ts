/** A server rate-limit setting (`--rate-limit-per-address 20:100`): calls a second and burst. */
export interface RateSpec {
  requestsPerSecond: number;
  burst: number;
}

/**
 * `RATE` or `RATE:BURST` (RATE calls a second, decimals allowed; BURST calls at once, default RATE
 * rounded up); empty or `0`: off (undefined). Throws with a one-line message on anything else.
 */
export function parseRateSpec(flag: string, text: string | undefined): RateSpec | undefined {
  if (text === undefined || text === '' || text === '0') return undefined;
  const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(text);
  const rate = m ? Number(m[1]) : NaN;
  const burst = m?.[2] !== undefined ? Number(m[2]) : Math.max(1, Math.ceil(rate));
  if (!m || !(rate > 0) || rate > 1_000_000 || !(burst >= 1) || burst > 1_000_000) {
    throw new Error(`${flag}: '${text}' is not RATE or RATE:BURST (calls a second, then calls at once), e.g. 20 or 20:100`);
  }
  return { requestsPerSecond: rate, burst };
}
