// Fault injection on simulated nodes, driven by node annotations so it works
// from kubectl: `kubectl annotate node X simulator.k8ts.io/heartbeat=stopped`
// stops the node's Lease renewals, NodeStatus reports and pod work (a dead
// kubelet) until the annotation is removed.
import type { KubeObject } from '../api/kind.js';

export const heartbeatAnnotation = 'simulator.k8ts.io/heartbeat';

export function heartbeatStopped(node: KubeObject | undefined): boolean {
  return node?.metadata?.annotations?.[heartbeatAnnotation] === 'stopped';
}
