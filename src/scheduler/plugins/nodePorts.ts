// NodePorts: a pod's hostPorts must be free on the node (same protocol and
// port on the same IP, or on 0.0.0.0 which takes every IP).
import { skip, unschedulable, type Plugin } from '../framework.js';

export const reasonNodePorts = "node(s) didn't have free ports for the requested pod ports";

export function nodePorts(): Plugin {
  return {
    name: 'NodePorts',
    preFilter(_s, pod) {
      return pod.hostPorts.length ? null : skip;
    },
    filter(_s, pod, node) {
      for (const hp of pod.hostPorts) if (node.portConflict(hp.ip, hp.protocol, hp.port)) return unschedulable(reasonNodePorts);
      return null;
    },
  };
}
