// NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory would be
// used in similar proportions after placing the pod (1 - standard deviation).
import { maxNodeScore, type Plugin } from '../framework.js';

export function balancedAllocation(): Plugin {
  return {
    name: 'NodeResourcesBalancedAllocation',
    weight: 1,
    score(_s, pod, node) {
      const a = node.allocatable;
      if (a.milliCPU <= 0 || a.memory <= 0) return 0;
      const fc = Math.min(1, (node.nonZeroRequested.milliCPU + pod.nonZero.milliCPU) / a.milliCPU);
      const fm = Math.min(1, (node.nonZeroRequested.memory + pod.nonZero.memory) / a.memory);
      // with two resources the standard deviation is half their difference
      const std = Math.abs(fc - fm) / 2;
      return Math.floor((1 - std) * maxNodeScore);
    },
  };
}
