/**
 * Registry credentials the operator gives the server: a file in Docker's `config.json` format
 * (`{"auths": {"host:port": {"auth": base64("user:pass")}}}`, `--registry-auth-file`). It holds
 * passwords, so it must be the server user's own and readable by no one else: the server refuses
 * to start otherwise. Credentials are kept in memory only and never logged.
 */
import { readFileSync, statSync } from 'node:fs';

/** A user name and password for one registry. */
export interface RegistryLogin {
  username: string;
  password: string;
}

/** The operator's credentials by registry `host[:port]`. */
export class RegistryCredentials {
  private constructor(private readonly byHost: ReadonlyMap<string, RegistryLogin>) {}

  static none(): RegistryCredentials {
    return new RegistryCredentials(new Map());
  }

  /**
   * Reads `file`; throws an Error with a one-line message (naming the setting, never a secret)
   * when it is not owner-only, not the server user's, or not Docker's format.
   */
  static load(file: string): RegistryCredentials {
    const st = statSync(file);
    if (!st.isFile()) throw new Error(`--registry-auth-file: ${file} is not a file`);
    if (st.uid !== process.getuid?.()) throw new Error(`--registry-auth-file: ${file} must belong to the user the server runs as`);
    if ((st.mode & 0o077) !== 0) throw new Error(`--registry-auth-file: ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new Error(`--registry-auth-file: ${file} is not JSON`);
    }
    const auths = (doc as { auths?: unknown } | null)?.auths;
    if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) throw new Error(`--registry-auth-file: ${file} has no "auths" object`);
    const byHost = new Map<string, RegistryLogin>();
    for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
      const login = loginOf(entry);
      if (!login) throw new Error(`--registry-auth-file: the entry for ${JSON.stringify(key)} has no "auth" (base64 of user:password) nor "username" and "password"`);
      byHost.set(hostOf(key), login);
    }
    return new RegistryCredentials(byHost);
  }

  /** The login for a registry `host[:port]`, if the operator gave one. */
  for(registry: string): RegistryLogin | undefined {
    return this.byHost.get(registry.toLowerCase());
  }
}

/** Docker writes keys as `host:port` and, for old logins, `https://host:port/v1/`. */
function hostOf(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/.*$/, '').toLowerCase();
}

function loginOf(entry: unknown): RegistryLogin | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as { auth?: unknown; username?: unknown; password?: unknown };
  if (typeof e.auth === 'string' && e.auth) {
    const plain = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon <= 0) return undefined;
    return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (typeof e.username === 'string' && typeof e.password === 'string' && e.username) return { username: e.username, password: e.password };
  return undefined;
}

/** `Basic <base64(user:pass)>`. */
export function basicAuthorization(login: RegistryLogin): string {
  return `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
}
