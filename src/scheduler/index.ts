export { Scheduler } from './scheduler.js';
export type { SchedulerObserver, SchedulerOptions } from './scheduler-options.js';
export { preparePidDir, reapOrphans } from './orphans.js';
export { PrestartPool } from './prestart-pool.js';
export type { InstanceHooks } from './instance-hooks.js';
export { VersionChecker } from './version-check.js';
export type { CheckTarget, VersionCheckerOptions } from './version-check.js';
export { AdHocRunner } from './ad-hoc-run.js';
export type { AdHocRunnerOptions, RunFailure, RunImageRoot, RunOutcome, RunRequest, RunSink } from './ad-hoc-run.js';
