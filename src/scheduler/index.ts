// Entry point of the scheduler (kube-scheduler): builds the Scheduler on the
// shared informer factory, waits for the caches, and starts the loop.
import type { Logger } from 'pino';
import type { ApiClient } from '../client/api.js';
import type { InformerFactory } from '../client/factory.js';
import { Scheduler, type SchedulerConfig } from './scheduler.js';

export type SchedulerOptions = SchedulerConfig;

export async function startScheduler(factory: InformerFactory, api: ApiClient, log: Logger, opts: SchedulerOptions = {}): Promise<{ stop(): void; scheduler: Scheduler }> {
  const scheduler = new Scheduler(factory, api, log, opts);
  await factory.start();
  await scheduler.start();
  log.info({ schedulerName: opts.schedulerName ?? 'default-scheduler' }, 'scheduler started');
  return {
    scheduler,
    stop() {
      scheduler.stop();
    },
  };
}
