export { createLogger, type Logger } from './logger.js';
export { Metrics } from './metrics.js';
export { FunctionLogs, type StoredLine } from './function-logs.js';
