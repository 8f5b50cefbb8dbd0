export { FunctionService, type FunctionServiceOptions } from './function-service.js';
export { Catalog } from './catalog.js';
export { WeightedSplit } from './weighted-split.js';
export { FunctionLogs, type StoredLine } from './function-logs.js';
export { Accounts, type AccountOptions, type Session } from './accounts.js';
export type { Quotas } from './tenancy-policy.js';
export { Secrets, type SecretMeta } from './secrets.js';
