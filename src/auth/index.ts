export { Authenticator } from './authenticator.js';
export { bootstrapAdminToken } from './bootstrap.js';
export { allows, type Permission, type Principal } from './principal.js';
export { generateToken, hashToken, TOKEN_PREFIX } from './tokens.js';
