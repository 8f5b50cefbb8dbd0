import { readFileSync, statSync } from 'node:fs';

/** The value of `JWT_SECRET` the seed's README and compose file publish: anyone can sign with it. */
const PUBLISHED_EXAMPLE = 'your-super-secret-key-for-development';
/** HS256's own key size: a shorter secret is guessable offline from any one token. */
const MIN_BYTES = 32;

/**
 * The seed-003 `JWT_SECRET`, from the variable or from the file `JWT_SECRET_FILE` names (mode
 * 600, the server user's), never from a flag: a flag shows in the process table. Undefined when
 * neither is set. A secret anyone could know (the seed's published example, or one shorter than
 * 32 bytes) is refused, so the server does not start with tokens anyone can forge.
 */
export function seed003JwtSecret(env: NodeJS.ProcessEnv): Buffer | undefined {
  const inline = env.JWT_SECRET;
  const file = env.JWT_SECRET_FILE;
  if (inline !== undefined && file !== undefined) throw new Error('JWT_SECRET and JWT_SECRET_FILE: set one, not both');
  let secret: string;
  if (file !== undefined) {
    if (!file.startsWith('/')) throw new Error(`JWT_SECRET_FILE: '${file}' is not an absolute path`);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) throw new Error(`JWT_SECRET_FILE: ${file} is not a file`);
    if ((st.mode & 0o077) !== 0) throw new Error(`JWT_SECRET_FILE: ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error(`JWT_SECRET_FILE: ${file} is not the server user's own`);
    // One trailing newline is the editor's, not the secret's.
    secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } else if (inline !== undefined) {
    secret = inline;
  } else {
    return undefined;
  }
  const from = file !== undefined ? 'JWT_SECRET_FILE' : 'JWT_SECRET';
  if (secret === PUBLISHED_EXAMPLE) throw new Error(`${from}: this is the seed's published example value, with which anyone can sign tokens; choose a random one (openssl rand -base64 48)`);
  if (Buffer.byteLength(secret) < MIN_BYTES) throw new Error(`${from}: at least ${MIN_BYTES} bytes, so it cannot be guessed from a token (openssl rand -base64 48)`);
  return Buffer.from(secret, 'utf8');
}
