// The default profile: upstream's default plugins in their order, with their score weights.
import type { Handle, Plugin } from '../framework.js';
import { nodeUnschedulable } from './nodeUnschedulable.js';
import { nodeName } from './nodeName.js';
import { taintToleration } from './taintToleration.js';
import { nodeAffinity } from './nodeAffinity.js';
import { nodePorts } from './nodePorts.js';
import { nodeResourcesFit } from './nodeResourcesFit.js';
import { volumeBinding } from './volumeBinding.js';
import { podTopologySpread } from './podTopologySpread.js';
import { interPodAffinity } from './interPodAffinity.js';
import { leastAllocated } from './leastAllocated.js';
import { balancedAllocation } from './balancedAllocation.js';

export function defaultPlugins(handle: Handle): Plugin[] {
  return [
    nodeUnschedulable(),
    nodeName(),
    taintToleration(),
    nodeAffinity(),
    nodePorts(),
    nodeResourcesFit(),
    volumeBinding(handle),
    podTopologySpread(handle),
    interPodAffinity(handle),
    leastAllocated(),
    balancedAllocation(),
  ];
}
