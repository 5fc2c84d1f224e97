// TaintToleration: NoSchedule/NoExecute taints keep out pods that do not
// tolerate them; untolerated PreferNoSchedule taints lower a node's score.
import { tolerates } from '../../api/tolerations.js';
import { defaultNormalize, unresolvable, type Plugin } from '../framework.js';

// the other plugins that match taints import it from here
export { tolerates };

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
