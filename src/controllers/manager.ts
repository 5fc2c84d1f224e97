// The controller manager: shares informers between controllers and runs their
// workers. Adding a controller means one file in this folder and one line below.
import type { Logger } from 'pino';
import type { ApiClient } from '../client/api.js';
import { runWorkers, type Reconciler } from '../client/controller.js';
import { InformerFactory } from '../client/factory.js';
import { NamespaceController } from './namespace.js';

export interface ControllerOptions {
  /** how long a node may miss heartbeats before it is NotReady/Unknown (upstream default 40s) */
  nodeMonitorGracePeriodMs: number;
  /** cluster pod CIDR split into per-node /24s by node IPAM */
  clusterCidr: string;
  nodeCidrMaskSize: number;
}

export const defaultControllerOptions: ControllerOptions = { nodeMonitorGracePeriodMs: 40_000, clusterCidr: '10.42.0.0/16', nodeCidrMaskSize: 24 };

export interface ControllerManager {
  factory: InformerFactory;
  stop(): void;
}

export async function startControllerManager(api: ApiClient, log: Logger, opts: ControllerOptions = defaultControllerOptions): Promise<ControllerManager> {
  void opts;
  const factory = new InformerFactory(api);
  const controllers: Reconciler[] = [
    new NamespaceController(factory),
  ];
  await factory.start();
  const stops = controllers.map((c) => runWorkers(c, 2, log.child({ controller: c.name })));
  return {
    factory,
    stop() {
      for (const s of stops) s();
      factory.stop();
    },
  };
}
