// PodTopologySpread: topologySpreadConstraints keep the number of matching pods
// per topology domain within maxSkew (DoNotSchedule filters, ScheduleAnyway
// scores). Pods without constraints get upstream's defaults (hostname maxSkew 3,
// zone maxSkew 5, ScheduleAnyway) over the pods of the same Services/controllers.
import type { TopologySpreadConstraint } from 'kubernetes-types/core/v1.js';
import { selectorFromLabelSelector, type Selector } from '../../api/labels.js';
import { skip, unresolvable, unschedulable, type CycleState, type Handle, type Plugin } from '../framework.js';
import type { NodeInfo } from '../nodeInfo.js';
import type { PodInfo } from '../podInfo.js';
import { requiredNodeAffinityMatches } from './nodeAffinity.js';
import { tolerates } from './taintToleration.js';

export const reasonSkew = "node(s) didn't match pod topology spread constraints";
export const reasonMissingLabel = "node(s) didn't match pod topology spread constraints (missing required label)";
const hostnameKey = 'kubernetes.io/hostname';
const zoneKey = 'topology.kubernetes.io/zone';

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean;
  selector: Selector;
  /** identity of (namespace, selector) for the match counter */
  countKey: string;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
  selfMatch: number;
}

/** A node's value for a topology key; nodes without a hostname label still are their own domain. */
function domainOf(node: NodeInfo, key: string): string | undefined {
  return node.labels[key] ?? (key === hostnameKey ? node.name : undefined);
}

function and(sels: Selector[]): Selector {
  if (sels.length === 1) return sels[0];
  return { requirements: sels.flatMap((s) => s.requirements), empty: false, nothing: sels.some((s) => s.nothing), matches: (l) => sels.every((s) => s.matches(l)), toString: () => sels.map(String).join(',') };
}

function compile(pod: PodInfo, handle: Handle): { constraints: Constraint[]; systemDefaulted: boolean } {
  const explicit = pod.pod.spec?.topologySpreadConstraints ?? [];
  const mk = (c: TopologySpreadConstraint, selector: Selector): Constraint => ({
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    hard: c.whenUnsatisfiable === 'DoNotSchedule',
    selector,
    countKey: `${pod.namespace}|${selector.toString()}`,
    minDomains: c.minDomains ?? 1,
    honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
    honorTaints: c.nodeTaintsPolicy === 'Honor',
    selfMatch: selector.matches(pod.labels) ? 1 : 0,
  });
  if (explicit.length) {
    return {
      systemDefaulted: false,
      constraints: explicit.map((c) => {
        let sel: Selector;
        try {
          const ls = { ...(c.labelSelector ?? {}), matchLabels: { ...(c.labelSelector?.matchLabels ?? {}) } };
          for (const k of c.matchLabelKeys ?? []) if (pod.labels[k] !== undefined) ls.matchLabels[k] = pod.labels[k];
          sel = selectorFromLabelSelector(c.labelSelector ? ls : undefined);
        } catch {
          sel = selectorFromLabelSelector(undefined);
        }
        return mk(c, sel);
      }),
    };
  }
  const sels = handle.defaultSelectors(pod);
  if (!sels.length) return { constraints: [], systemDefaulted: true };
  const sel = and(sels);
  return {
    systemDefaulted: true,
    constraints: [
      mk({ maxSkew: 3, topologyKey: hostnameKey, whenUnsatisfiable: 'ScheduleAnyway' }, sel),
      mk({ maxSkew: 5, topologyKey: zoneKey, whenUnsatisfiable: 'ScheduleAnyway' }, sel),
    ],
  };
}

function eligible(c: Constraint, pod: PodInfo, node: NodeInfo): boolean {
  if (c.honorAffinity && !requiredNodeAffinityMatches(pod, node)) return false;
  if (c.honorTaints) {
    const tols = pod.pod.spec?.tolerations ?? [];
    for (const t of node.taints) if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tols.some((x) => tolerates(x, t))) return false;
  }
  return true;
}

interface FilterState {
  hard: Constraint[];
  counts: Map<string, number>[];
  min: number[];
}

interface ScoreState {
  soft: Constraint[];
  counts: (Map<string, number> | undefined)[];
  weights: number[];
  requireAll: boolean;
}

export function podTopologySpread(handle: Handle): Plugin {
  const matcher = (c: Constraint, ns: string) => (p: PodInfo) => p.namespace === ns && c.selector.matches(p.labels);
  const countOn = (c: Constraint, pod: PodInfo, node: NodeInfo) => handle.counter.count(node, c.countKey, matcher(c, pod.namespace));
  return {
    name: 'PodTopologySpread',
    weight: 2,
    preFilter(state: CycleState, pod) {
      const { constraints, systemDefaulted } = compile(pod, handle);
      state.set('PodTopologySpread/compiled', { constraints, systemDefaulted });
      const hard = constraints.filter((c) => c.hard);
      if (!hard.length) return skip;
      const counts = hard.map(() => new Map<string, number>());
      for (const node of handle.nodes()) {
        if (!hard.every((c) => domainOf(node, c.topologyKey) !== undefined)) continue;
        hard.forEach((c, i) => {
          if (!eligible(c, pod, node)) return;
          const v = domainOf(node, c.topologyKey)!;
          counts[i].set(v, (counts[i].get(v) ?? 0) + countOn(c, pod, node));
        });
      }
      const min = hard.map((c, i) => {
        if (counts[i].size < c.minDomains) return 0;
        let m = Infinity;
        for (const n of counts[i].values()) m = Math.min(m, n);
        return m === Infinity ? 0 : m;
      });
      state.set('PodTopologySpread/filter', { hard, counts, min } satisfies FilterState);
      return null;
    },
    filter(state, _pod, node) {
      const s = state.get('PodTopologySpread/filter') as FilterState | undefined;
      if (!s) return null; // PreFilter found nothing to enforce
      for (let i = 0; i < s.hard.length; i++) {
        const c = s.hard[i];
        const v = domainOf(node, c.topologyKey);
        if (v === undefined) return unresolvable(reasonMissingLabel);
        const skew = (s.counts[i].get(v) ?? 0) + c.selfMatch - s.min[i];
        if (skew > c.maxSkew) return unschedulable(reasonSkew);
      }
      return null;
    },
    preScore(state, pod, nodes) {
      let compiled = state.get('PodTopologySpread/compiled') as { constraints: Constraint[]; systemDefaulted: boolean } | undefined;
      if (!compiled) compiled = compile(pod, handle);
      const soft = compiled.constraints.filter((c) => !c.hard);
      if (!soft.length || nodes.length < 2) return skip;
      const requireAll = !compiled.systemDefaulted;
      const counts: (Map<string, number> | undefined)[] = [];
      const weights: number[] = [];
      for (const c of soft) {
        const domains = new Set<string>();
        for (const n of nodes) {
          const v = domainOf(n, c.topologyKey);
          if (v !== undefined) domains.add(v);
        }
        weights.push(Math.log(domains.size + 2));
        if (c.topologyKey === hostnameKey || !domains.size) {
          counts.push(undefined); // counted per node at score time
          continue;
        }
        const m = new Map<string, number>();
        for (const n of handle.nodes()) {
          const v = n.labels[c.topologyKey];
          if (v === undefined || !domains.has(v) || !eligible(c, pod, n)) continue;
          m.set(v, (m.get(v) ?? 0) + countOn(c, pod, n));
        }
        counts.push(m);
      }
      state.set('PodTopologySpread/score', { soft, counts, weights, requireAll } satisfies ScoreState);
      return null;
    },
    score(state, pod, node) {
      const s = state.get('PodTopologySpread/score') as ScoreState;
      if (s.requireAll && !s.soft.every((c) => node.labels[c.topologyKey] !== undefined)) return -1; // ignored node
      let score = 0;
      for (let i = 0; i < s.soft.length; i++) {
        const c = s.soft[i];
        const v = domainOf(node, c.topologyKey);
        if (v === undefined) continue;
        const cnt = s.counts[i] ? (s.counts[i]!.get(v) ?? 0) : countOn(c, pod, node);
        score += cnt * s.weights[i] + (c.maxSkew - 1);
      }
      return Math.round(score);
    },
    normalizeScore(_state, _pod, scores) {
      let min = Infinity;
      let max = -Infinity;
      for (const v of scores) {
        if (v < 0) continue;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      for (let i = 0; i < scores.length; i++) {
        if (scores[i] < 0) scores[i] = 0;
        else if (max === 0) scores[i] = 100;
        else scores[i] = Math.floor((100 * (max + min - scores[i])) / max);
      }
    },
  };
}
