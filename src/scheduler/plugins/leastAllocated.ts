// NodeResourcesFit's default scoring strategy, LeastAllocated: prefer nodes
// with the most cpu and memory left after placing the pod (equal weights).
import { maxNodeScore, type Plugin } from '../framework.js';

function least(requested: number, capacity: number): number {
  if (capacity <= 0 || requested > capacity) return 0;
  return ((capacity - requested) * maxNodeScore) / capacity;
}

export function leastAllocated(): Plugin {
  return {
    name: 'NodeResourcesLeastAllocated',
    weight: 1,
    score(_s, pod, node) {
      const cpu = least(node.nonZeroRequested.milliCPU + pod.nonZero.milliCPU, node.allocatable.milliCPU);
      const mem = least(node.nonZeroRequested.memory + pod.nonZero.memory, node.allocatable.memory);
      return Math.floor((cpu + mem) / 2);
    },
  };
}
