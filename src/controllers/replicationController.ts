// ReplicationController controller: the ReplicaSet controller with the core/v1
// kind and its equality-only map selector (upstream runs the same code too).
import type { KubeObject } from '../api/kind.js';
import type { EventRecorder } from '../client/events.js';
import type { InformerFactory } from '../client/factory.js';
import { ReplicaSetController, type ReplicaKind } from './replicaset.js';

/** An RC selects labels containing every key=value of its selector; an empty selector selects nothing. */
export function rcSelects(rc: KubeObject, labels: Record<string, string>): boolean {
  const sel: Record<string, string> = rc.spec?.selector ?? {};
  const entries = Object.entries(sel);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export const replicationControllerKind: ReplicaKind = {
  group: '',
  resource: 'replicationcontrollers',
  apiVersion: 'v1',
  kind: 'ReplicationController',
  name: 'replicationcontroller',
  component: 'replication-controller',
  selects: rcSelects,
};

export class ReplicationControllerController extends ReplicaSetController {
  constructor(factory: InformerFactory, opts?: unknown, recorder?: EventRecorder) {
    super(factory, opts, recorder, replicationControllerKind);
  }
}
