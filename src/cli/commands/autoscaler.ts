/**
 * `ferry autoscaler`: grows and shrinks the workers of a cluster on NATS from its queue (one flag
 * per entry of `autoscalerSettings`, the NATS ones shared with `ferry server`); runs until
 * SIGINT/SIGTERM, then gives its lease up and drains the workers it started.
 */
import type { Command } from 'commander';
import { autoscalerSettings, loadAutoscalerOptions, type AutoscalerOptions } from '../../cluster/autoscale/autoscaler-options.js';
import { usageError } from '../errors.js';
import { settingOption } from './server.js';

export function register(program: Command): void {
  const cmd = program
    .command('autoscaler')
    .description('start and stop cluster workers from the executions queue (--store nats://...); seed 003 variables MIN_WORKERS, MAX_WORKERS, SCALE_UP_THRESHOLD, SCALE_DOWN_THRESHOLD, CHECK_INTERVAL, COOLDOWN_PERIOD, NATS_URL are read too');
  for (const s of autoscalerSettings) cmd.addOption(settingOption(s));
  cmd.action(async (parsed: Record<string, unknown>) => {
    const flags: Partial<Record<keyof AutoscalerOptions, string | boolean>> = {};
    for (const s of autoscalerSettings) {
      const v = parsed[settingOption(s).attributeName()];
      if (typeof v === 'string' || typeof v === 'boolean') flags[s.key] = v;
    }
    let options: AutoscalerOptions;
    try {
      options = loadAutoscalerOptions(flags, process.env);
    } catch (err) {
      throw usageError(err instanceof Error ? err.message : String(err));
    }
    const { startAutoscaler } = await import('../../server/autoscaler-process.js');
    const running = await startAutoscaler(options);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return void running.logger.warn({ signal }, 'already stopping: the local workers are draining');
        stopping = true;
        running.logger.info({ signal }, 'autoscaler shutting down');
        void running.close().then(resolve);
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
    running.logger.info('autoscaler stopped');
  });
}
