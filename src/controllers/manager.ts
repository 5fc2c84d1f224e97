// The controller manager: shares informers between controllers and runs their
// workers. Adding a controller means one file in this folder and one line below.
import type { Logger } from 'pino';
import type { ApiClient } from '../client/api.js';
import { runWorkers, type Reconciler } from '../client/controller.js';
import { InformerFactory } from '../client/factory.js';
import { EventRecorder } from '../client/events.js';
import { NamespaceController } from './namespace.js';
import { ResourceQuotaController } from './resourceQuota.js';
import { DisruptionController } from './disruption.js';
import { NodeIpamController } from './nodeIpam.js';
import { NodeLifecycleController } from './nodeLifecycle.js';
import { PodGcController } from './podGc.js';
import { DeploymentController } from './deployment.js';
import { ReplicaSetController } from './replicaset.js';
import { ReplicationControllerController } from './replicationController.js';
import { GarbageCollector } from './garbageCollector.js';
import { ServiceAccountController } from './serviceAccount.js';
import { RootCaConfigMapController } from './rootCaConfigMap.js';
import { EndpointsController } from './endpoints.js';
import { EndpointSliceController } from './endpointSlice.js';
import { StatefulSetController } from './statefulset.js';
import { DaemonSetController } from './daemonset.js';
import { JobController } from './job.js';
import { CronJobController } from './cronjob.js';
import { TTLAfterFinishedController } from './ttlAfterFinished.js';

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
  const factory = new InformerFactory(api);
  const controllers: Reconciler[] = [
    new NamespaceController(factory),
    new ResourceQuotaController(factory),
    new DisruptionController(factory, opts),
    new NodeIpamController(factory, opts, new EventRecorder(api, 'node-ipam-controller')),
    new NodeLifecycleController(factory, opts, new EventRecorder(api, 'node-controller')),
    new PodGcController(factory, opts),
    new DeploymentController(factory, opts),
    new ReplicaSetController(factory, opts),
    new ReplicationControllerController(factory, opts),
    new GarbageCollector(factory),
    new ServiceAccountController(factory),
    new RootCaConfigMapController(factory),
    new EndpointsController(factory),
    new EndpointSliceController(factory),
    new StatefulSetController(factory, opts),
    new DaemonSetController(factory, opts),
    new JobController(factory, opts),
    new CronJobController(factory, opts),
    new TTLAfterFinishedController(factory, opts),
  ];
  await factory.start();
  const stops = controllers.map((c) => runWorkers(c, 2, log.child({ controller: c.name })));
  return {
    factory,
    stop() {
      for (const s of stops) s();
      // controllers with timers of their own (e.g. the quota resync) clean them up
      for (const c of controllers) (c as Reconciler & { stop?(): void }).stop?.();
      factory.stop();
    },
  };
}
