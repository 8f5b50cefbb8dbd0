export { FunctionService, type FunctionServiceOptions } from './function-service.js';
export { Catalog } from './catalog.js';
export { WeightedSplit } from './weighted-split.js';
