// NodeAffinity: spec.nodeSelector and required node affinity filter nodes;
// preferred node affinity terms add their weights to a node's score.
import type { NodeSelectorRequirement, NodeSelectorTerm } from 'kubernetes-types/core/v1.js';
import { defaultNormalize, skip, unresolvable, type CycleState, type Plugin } from '../framework.js';
import type { NodeInfo } from '../nodeInfo.js';
import type { PodInfo } from '../podInfo.js';

export const reasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && vals.includes(value);
    case 'NotIn':
      return value === undefined || !vals.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || vals.length !== 1 || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(vals[0])) return false;
      return r.operator === 'Gt' ? Number(value) > Number(vals[0]) : Number(value) < Number(vals[0]);
    }
    default:
      return false;
  }
}

/** A node selector term: every expression and field must match; an empty term matches nothing. */
export function termMatches(t: NodeSelectorTerm, node: NodeInfo): boolean {
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  for (const e of exprs) if (!requirementMatches(e, node.labels[e.key])) return false;
  for (const f of fields) if (!requirementMatches(f, f.key === 'metadata.name' ? node.name : undefined)) return false;
  return true;
}

/** nodeSelector and required node affinity (also used by spreading to pick eligible nodes). */
export function requiredNodeAffinityMatches(pod: PodInfo, node: NodeInfo): boolean {
  const sel = pod.pod.spec?.nodeSelector;
  if (sel) for (const k in sel) if (node.labels[k] !== sel[k]) return false;
  const req = pod.pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (req) return (req.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
  return true;
}

const key = 'NodeAffinity';

export function nodeAffinity(): Plugin {
  return {
    name: 'NodeAffinity',
    weight: 2,
    preFilter(_s, pod) {
      const spec = pod.pod.spec;
      return spec?.nodeSelector || spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution ? null : skip;
    },
    filter(_s, pod, node) {
      return requiredNodeAffinityMatches(pod, node) ? null : unresolvable(reasonNodeAffinity);
    },
    preScore(state: CycleState, pod) {
      const pref = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
      if (!pref?.length) return skip;
      state.set(key, pref);
      return null;
    },
    score(state, _pod, node) {
      let s = 0;
      for (const t of state.get(key) as { weight: number; preference: NodeSelectorTerm }[]) if (t.weight && termMatches(t.preference, node)) s += t.weight;
      return s;
    },
    normalizeScore(_s, _p, scores) {
      defaultNormalize(scores, false);
    },
  };
}
