import { get, send, setCsrf, ApiError } from './api.js';

export interface Session {
  user: string;
  groups: string[];
  csrf: string;
  expiresAt: string;
}

let current: Session | undefined;

export function session(): Session | undefined {
  return current;
}

/** Whether the user may see the admin views (the API decides in any case). */
export function isAdmin(): boolean {
  return !!current && (current.groups.includes('root') || current.groups.includes('permission:admin'));
}

/** The session of the page's cookie, if it has a live one. */
export async function resume(): Promise<Session | undefined> {
  try {
    current = await get<Session>('/v1/auth/session');
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    current = undefined;
  }
  setCsrf(current?.csrf);
  return current;
}

export async function login(body: { name: string; password: string } | { token: string }): Promise<Session> {
  current = (await send<Session>('POST', '/v1/auth/session', body))!;
  setCsrf(current.csrf);
  return current;
}

export async function logout(): Promise<void> {
  try {
    await send('DELETE', '/v1/auth/session');
  } finally {
    current = undefined;
    setCsrf(undefined);
  }
}

export function forget(): void {
  current = undefined;
  setCsrf(undefined);
}
