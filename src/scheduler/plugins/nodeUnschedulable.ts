// NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods that
// tolerate the node.kubernetes.io/unschedulable:NoSchedule taint.
import { unresolvable, type Plugin } from '../framework.js';
import { tolerates } from './taintToleration.js';

const taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
export const reasonUnschedulable = 'node(s) were unschedulable';

export function nodeUnschedulable(): Plugin {
  return {
    name: 'NodeUnschedulable',
    filter(_s, pod, node) {
      if (!node.unschedulable) return null;
      if ((pod.pod.spec?.tolerations ?? []).some((t) => tolerates(t, taint))) return null;
      return unresolvable(reasonUnschedulable);
    },
  };
}
