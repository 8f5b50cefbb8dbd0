export { FunctionService, type FunctionServiceOptions } from './function-service.js';
export { Catalog } from './catalog.js';
export { WeightedSplit } from './weighted-split.js';
export { FunctionLogs, type StoredLine } from './function-logs.js';
