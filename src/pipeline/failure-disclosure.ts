import { FerryError } from '../errors/index.js';
import { failureNotice, hidesDetail, type Principal } from '../core/index.js';
import { onFunction, type Authenticator } from '../auth/index.js';

/** What decides how much a caller is told of a failed call. */
export interface Disclosure {
  requestId: string;
  /** The version has `errors: "verbose"`. */
  verbose: boolean;
  /** The caller's credential as it came (before Ferry's credentials were stripped). */
  credential: string | undefined;
  /** The caller, when the front end already knows it. */
  principal: Principal | undefined;
  /** The function's owning group, if it is known. */
  owner: string | undefined;
  auth: Authenticator;
  /** What the credential came with: an instance token counts only on its instance's own socket. */
  origin: object | undefined;
}

/**
 * The error as this caller may see it. The shims hand Ferry what the handler threw (and write it
 * to the function's logs under the request id); Ferry, not the instance, decides who sees it:
 * callers with `read` on the function, and every caller of a version with `errors: "verbose"`.
 * Everyone else gets the same code and status, the request id, and where the detail is. Only the
 * failure path pays for the token check.
 */
export async function disclose(err: FerryError, d: Disclosure): Promise<FerryError> {
  if (!hidesDetail(err.code)) return err;
  const extras = { requestId: d.requestId };
  if (d.verbose || (await mayRead(d))) return new FerryError(err.code, err.message, { cause: err, extras, headers: err.headers });
  return new FerryError(err.code, failureNotice(err.code, d.requestId), { extras, headers: err.headers });
}

async function mayRead(d: Disclosure): Promise<boolean> {
  if ((d.credential === undefined && d.principal === undefined) || d.owner === undefined) return false;
  try {
    return onFunction(d.principal ?? (await d.auth.authenticate(d.credential, d.origin)), 'read', d.owner) === 'yes';
  } catch {
    // Not a valid Ferry credential (or the function's own scheme): a public caller.
    return false;
  }
}
