export { Authenticator } from './authenticator.js';
export { InstanceTokens } from './instance-tokens.js';
export { AccessTokens } from './access-tokens.js';
export { bootstrapAdmin } from './bootstrap.js';
export { allows, effectiveGroups, isAdmin, memberOf, onFunction, type Permission, type Principal } from './principal.js';
export { generateToken, hashToken, TOKEN_PREFIX } from './tokens.js';
export { checkPasswordStrength, hashPassword, verifyPassword } from './passwords.js';
export { LoginThrottle } from './login-throttle.js';
export { invocationAccess, routeAccess, type Access } from './route-access.js';
