// Entry point of the scheduler (kube-scheduler). Placeholder until the scheduler lands.
import type { Logger } from 'pino';
import type { ApiClient } from '../client/api.js';
import type { InformerFactory } from '../client/factory.js';

export interface SchedulerOptions {
  /** percentageOfNodesToScore (0 = adaptive, like upstream) */
  percentageOfNodesToScore?: number;
}

export async function startScheduler(_factory: InformerFactory, _api: ApiClient, _log: Logger, _opts: SchedulerOptions = {}): Promise<{ stop(): void }> {
  return { stop() {} };
}
