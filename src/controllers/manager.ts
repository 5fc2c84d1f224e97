// The controller manager: shares informers between controllers and runs their
// workers. Adding a controller means one file in this folder and one line below.
import type { Logger } from 'pino';
import type { ApiClient } from '../client/api.js';
import { runWorkers, type Reconciler } from '../client/controller.js';
import { InformerFactory } from '../client/factory.js';
import { NamespaceController } from './namespace.js';

export interface ControllerManager {
  factory: InformerFactory;
  stop(): void;
}

export async function startControllerManager(api: ApiClient, log: Logger): Promise<ControllerManager> {
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
