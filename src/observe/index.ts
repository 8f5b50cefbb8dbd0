export { createLogger, type Logger } from './logger.js';
export { Metrics } from './metrics.js';
export { SERIES_MINUTES, SUMMARY_MINUTES, TrafficSeries, type MinutePoint, type TrafficSummary } from './traffic-series.js';
