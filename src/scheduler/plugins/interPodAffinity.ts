// InterPodAffinity: required pod affinity / anti-affinity of the incoming pod,
// required anti-affinity of pods already placed (symmetry), and preferred terms
// of both sides as scores. Terms are evaluated per topology domain (the value
// of the term's topologyKey on a node).
import { skip, unresolvable, unschedulable, type CycleState, type Handle, type Plugin } from '../framework.js';
import type { NodeInfo } from '../nodeInfo.js';
import { termMatches, type AffinityTerm, type PodInfo } from '../podInfo.js';

export const reasonExistingAnti = "node(s) didn't satisfy existing pods anti-affinity rules";
export const reasonAffinity = "node(s) didn't match pod affinity rules";
export const reasonAnti = "node(s) didn't match pod anti-affinity rules";
const hardPodAffinityWeight = 1;

const pair = (key: string, value: string) => `${key}\u0000${value}`;

interface FilterState {
  existingAnti: Map<string, number>;
  /** per required affinity term: topology pair -> matching pods */
  affinity: Map<string, number>[];
  anti: Map<string, number>[];
  /** no pod anywhere matches the affinity terms, but the pod matches them itself */
  selfAffinityOk: boolean;
}

export function interPodAffinity(handle: Handle): Plugin {
  const nsLabels = (ns: string) => handle.namespaceLabels(ns);
  /** Per topology pair of term.topologyKey, how many placed pods match the term. */
  const countTerm = (term: AffinityTerm): Map<string, number> => {
    const m = new Map<string, number>();
    for (const node of handle.nodes()) {
      const v = node.labels[term.topologyKey];
      if (v === undefined) continue;
      const n = handle.counter.count(node, `aff|${term.key}`, (p) => termMatches(term, p, nsLabels));
      if (n) m.set(pair(term.topologyKey, v), (m.get(pair(term.topologyKey, v)) ?? 0) + n);
    }
    return m;
  };
  return {
    name: 'InterPodAffinity',
    weight: 2,
    preFilter(state: CycleState, pod) {
      const existingAnti = new Map<string, number>();
      for (const { pod: other, node } of handle.affinityPods()) {
        for (const t of other.requiredAntiAffinity) {
          const v = node.labels[t.topologyKey];
          if (v !== undefined && termMatches(t, pod, nsLabels)) existingAnti.set(pair(t.topologyKey, v), (existingAnti.get(pair(t.topologyKey, v)) ?? 0) + 1);
        }
      }
      if (!existingAnti.size && !pod.requiredAffinity.length && !pod.requiredAntiAffinity.length) return skip;
      const affinity = pod.requiredAffinity.map(countTerm);
      const anti = pod.requiredAntiAffinity.map(countTerm);
      const selfAffinityOk = pod.requiredAffinity.length > 0 && affinity.every((m) => m.size === 0) && pod.requiredAffinity.every((t) => termMatches(t, pod, nsLabels));
      state.set('InterPodAffinity/filter', { existingAnti, affinity, anti, selfAffinityOk } satisfies FilterState);
      return null;
    },
    filter(state, pod, node) {
      const s = state.get('InterPodAffinity/filter') as FilterState | undefined;
      if (!s) return null; // PreFilter found nothing to enforce
      if (s.existingAnti.size) {
        for (const [k, v] of Object.entries(node.labels)) if (s.existingAnti.get(pair(k, v))) return unschedulable(reasonExistingAnti);
      }
      for (let i = 0; i < pod.requiredAffinity.length; i++) {
        const t = pod.requiredAffinity[i];
        const v = node.labels[t.topologyKey];
        if (v === undefined) return unresolvable(reasonAffinity);
        if (!s.affinity[i].get(pair(t.topologyKey, v)) && !s.selfAffinityOk) return unresolvable(reasonAffinity);
      }
      for (let i = 0; i < pod.requiredAntiAffinity.length; i++) {
        const t = pod.requiredAntiAffinity[i];
        const v = node.labels[t.topologyKey];
        if (v !== undefined && s.anti[i].get(pair(t.topologyKey, v))) return unschedulable(reasonAnti);
      }
      return null;
    },
    preScore(state, pod) {
      const scores = new Map<string, number>();
      const add = (key: string, v: string | undefined, w: number) => {
        if (v === undefined || !w) return;
        scores.set(pair(key, v), (scores.get(pair(key, v)) ?? 0) + w);
      };
      // the incoming pod's preferences, against every placed pod
      for (const [terms, sign] of [[pod.preferredAffinity, 1], [pod.preferredAntiAffinity, -1]] as const) {
        for (const t of terms) for (const [p, n] of countTerm(t)) scores.set(p, (scores.get(p) ?? 0) + sign * t.weight * n);
      }
      // placed pods' terms that name the incoming pod
      for (const { pod: other, node } of handle.affinityPods()) {
        for (const t of other.requiredAffinity) if (termMatches(t, pod, nsLabels)) add(t.topologyKey, node.labels[t.topologyKey], hardPodAffinityWeight);
        for (const t of other.preferredAffinity) if (termMatches(t, pod, nsLabels)) add(t.topologyKey, node.labels[t.topologyKey], t.weight);
        for (const t of other.preferredAntiAffinity) if (termMatches(t, pod, nsLabels)) add(t.topologyKey, node.labels[t.topologyKey], -t.weight);
      }
      if (!scores.size) return skip;
      state.set('InterPodAffinity/score', scores);
      return null;
    },
    score(state, _pod, node: NodeInfo) {
      const scores = state.get('InterPodAffinity/score') as Map<string, number>;
      let s = 0;
      for (const [k, v] of Object.entries(node.labels)) s += scores.get(pair(k, v)) ?? 0;
      return s;
    },
    normalizeScore(_s, _p, scores) {
      let min = Infinity;
      let max = -Infinity;
      for (const v of scores) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const d = max - min;
      for (let i = 0; i < scores.length; i++) scores[i] = d > 0 ? Math.floor((100 * (scores[i] - min)) / d) : 0;
    },
  };
}
