// NodeResourcesFit (filter): the pod's requests must fit in what the node has
// left of its allocatable cpu, memory, ephemeral storage, extended resources and pod count.
import { unschedulable, type Plugin, type Result } from '../framework.js';
import type { NodeInfo } from '../nodeInfo.js';
import type { PodInfo } from '../podInfo.js';

/** Why the pod does not fit (empty when it does). */
export function insufficientResources(pod: PodInfo, node: NodeInfo): string[] {
  const out: string[] = [];
  const a = node.allocatable;
  const u = node.requested;
  const r = pod.requests;
  if (node.pods.size + 1 > a.pods) out.push('Too many pods');
  if (r.milliCPU > 0 && r.milliCPU > a.milliCPU - u.milliCPU) out.push('Insufficient cpu');
  if (r.memory > 0 && r.memory > a.memory - u.memory) out.push('Insufficient memory');
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > a.ephemeralStorage - u.ephemeralStorage) out.push('Insufficient ephemeral-storage');
  if (r.scalar) {
    for (const [name, v] of r.scalar) {
      if (v > 0 && v > (a.scalar?.get(name) ?? 0) - (u.scalar?.get(name) ?? 0)) out.push(`Insufficient ${name}`);
    }
  }
  return out;
}

export function nodeResourcesFit(): Plugin {
  return {
    name: 'NodeResourcesFit',
    filter(_s, pod, node): Result {
      const reasons = insufficientResources(pod, node);
      return reasons.length ? unschedulable(...reasons) : null;
    },
  };
}
