export { Scheduler, type SchedulerObserver, type SchedulerOptions } from './scheduler.js';
