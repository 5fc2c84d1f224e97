// TaintToleration: NoSchedule/NoExecute taints keep out pods that do not
// tolerate them; untolerated PreferNoSchedule taints lower a node's score.
import type { Taint, Toleration } from 'kubernetes-types/core/v1.js';
import { defaultNormalize, unresolvable, type Plugin } from '../framework.js';

/** Does toleration t tolerate the taint (key, value, effect; operator Equal by default)? */
export function tolerates(t: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

export function taintToleration(): Plugin {
  return {
    name: 'TaintToleration',
    weight: 3,
    filter(_s, pod, node) {
      if (!node.taints.length) return null;
      const tols = pod.pod.spec?.tolerations ?? [];
      for (const taint of node.taints) {
        if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
        if (!tols.some((t) => tolerates(t, taint))) return unresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
      }
      return null;
    },
    score(_s, pod, node) {
      if (!node.taints.length) return 0;
      // only tolerations that apply to PreferNoSchedule count here
      const tols = (pod.pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
      let n = 0;
      for (const taint of node.taints) if (taint.effect === 'PreferNoSchedule' && !tols.some((t) => tolerates(t, taint))) n++;
      return n;
    },
    normalizeScore(_s, _p, scores) {
      defaultNormalize(scores, true);
    },
  };
}
