import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The root token of this run, as YFASS prints one at boot: random, kept only in memory (its hash),
 * so it is worth nothing once the server stops. It is written once to the console (stderr), never
 * to the server log, which may go to files or a collector.
 */
export class BootToken {
  private readonly hash: Buffer;

  constructor(print: (line: string) => void) {
    const token = `yfass_${randomBytes(32).toString('base64url')}`;
    this.hash = digest(token);
    print(`YFASS root token for this run (Authorization: Bearer <token>): ${token}\n`);
  }

  /** Whether `token` is this run's root token (compared in constant time). */
  matches(token: string): boolean {
    return timingSafeEqual(digest(token), this.hash);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
