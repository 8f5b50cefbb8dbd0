/**
 * The identities of an operator-mode nats-server, for the NATS login tests: an operator, an
 * account with JetStream, and a user of it, as NATS's JWTs (ed25519-nkey, signed by the issuer's
 * NKey), a system account (JetStream needs one in operator mode), and the user's creds file (its JWT and seed, in the layout `nsc` writes).
 */
import { createHash } from 'node:crypto';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';

const b64url = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

/** RFC 4648 base32 without padding, as NATS encodes a JWT's id. */
function base32(b: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/** A JWT of `subject` signed by `issuer`, carrying `nats` claims. */
function jwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const claims: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } };
  claims.jti = base32(createHash('sha512-256').update(JSON.stringify(claims)).digest());
  const signed = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64url(JSON.stringify(claims))}`;
  return `${signed}.${b64url(issuer.sign(new TextEncoder().encode(signed)))}`;
}

export interface OperatorMode {
  /** nats-server configuration lines: the operator, and the account preloaded in memory. */
  config: string;
  /** The user's creds file contents. */
  creds: string;
  /** The user's seed alone (an NKey login of the same user is not what operator mode takes). */
  userSeed: string;
}

/** A fresh operator, account (JetStream without limits) and user. */
export function operatorMode(): OperatorMode {
  const operator = createOperator();
  const account = createAccount();
  // JetStream in operator mode needs a system account (the server's own traffic), without JetStream.
  const system = createAccount();
  const user = createUser();
  const operatorJwt = jwt(operator, operator.getPublicKey(), 'ferry-test-operator', { type: 'operator' });
  const unlimited = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const accountJwt = jwt(operator, account.getPublicKey(), 'ferry-test-account', { type: 'account', limits: unlimited });
  const systemJwt = jwt(operator, system.getPublicKey(), 'SYS', { type: 'account', limits: { ...unlimited, mem_storage: 0, disk_storage: 0, streams: 0, consumer: 0 } });
  const userJwt = jwt(account, user.getPublicKey(), 'ferry-test-user', { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  const userSeed = new TextDecoder().decode(user.getSeed());
  const creds = [
    '-----BEGIN NATS USER JWT-----',
    userJwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    userSeed,
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
  const config = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    `resolver_preload: {\n  ${account.getPublicKey()}: ${accountJwt}\n  ${system.getPublicKey()}: ${systemJwt}\n}`,
    '',
  ].join('\n');
  return { config, creds, userSeed };
}

/** A user NKey: its public key (for `authorization { users = [{ nkey: ... }] }`) and its seed. */
export function userNkey(): { publicKey: string; seed: string } {
  const user = createUser();
  return { publicKey: user.getPublicKey(), seed: new TextDecoder().decode(user.getSeed()) };
}
