export { Scheduler, type SchedulerObserver, type SchedulerOptions } from './scheduler.js';
export { reapOrphans } from './orphans.js';
export { PrestartPool } from './prestart-pool.js';
