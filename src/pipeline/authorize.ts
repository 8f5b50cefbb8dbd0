import { FerryError } from '../errors/index.js';
import type { EffectiveConfig, Invocation, Principal } from '../core/index.js';
import { onFunction, type Authenticator } from '../auth/index.js';

/**
 * Whether a call needs a credential: the function says `invoke: "token"`, or the server
 * (`--invoke-auth token`) says so for every function. A public function never looks at one, so
 * calling it costs no token check.
 */
export function needsCredential(config: EffectiveConfig, invokeAuth: 'public' | 'token'): boolean {
  return config.invoke === 'token' || invokeAuth === 'token';
}

/**
 * The authorize stage: the caller (the invocation's principal, else its credential checked) needs
 * `execute` on the function and membership in its owning group. One who may not even read it
 * gets 404, as if it did not exist; one who may read it, 403.
 */
export async function authorize(inv: Invocation, owner: string, auth: Authenticator): Promise<Principal> {
  const who = inv.principal ?? (await auth.authenticate(inv.credential, inv.origin));
  const verdict = onFunction(who, 'execute', owner);
  if (verdict === 'hidden') throw new FerryError('function-not-found', `no function named '${inv.function}'`);
  if (verdict === 'forbidden') throw new FerryError('forbidden', `invoking '${inv.function}' needs permission:execute`);
  return who;
}
