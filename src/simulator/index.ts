// Entry point of the node simulator (KWOK-like). Placeholder until it lands.
import type { Logger } from 'pino';
import type { ApiClient } from '../client/api.js';

export interface SimulatorOptions {
  nodes: number;
  /** node names are `${prefix}-${i}` */
  prefix?: string;
}

export async function startSimulator(_api: ApiClient, _log: Logger, _opts: SimulatorOptions): Promise<{ stop(): Promise<void> }> {
  return { async stop() {} };
}
