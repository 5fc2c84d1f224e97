// PodInfo: what the scheduler derives from a pod once (requests, ports, compiled
// affinity terms, priority) so that filtering thousands of nodes never re-parses it.
import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from 'kubernetes-types/core/v1.js';
import { selectorFromLabelSelector, nothing, type Selector } from '../api/labels.js';
import { podRequests, type Resources } from './resources.js';

export interface AffinityTerm {
  selector: Selector;
  /** explicit namespaces (the pod's own when neither namespaces nor namespaceSelector is given) */
  namespaces: Set<string>;
  /** matches namespaces by their labels; undefined when not given */
  namespaceSelector?: Selector;
  topologyKey: string;
  weight: number;
  /** identity of (namespaces, selector) for count caches */
  key: string;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

export interface PodInfo {
  key: string;
  pod: Pod;
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  priority: number;
  requests: Resources;
  nonZero: { milliCPU: number; memory: number };
  hostPorts: HostPort[];
  requiredAffinity: AffinityTerm[];
  requiredAntiAffinity: AffinityTerm[];
  preferredAffinity: AffinityTerm[];
  preferredAntiAffinity: AffinityTerm[];
  createdMs: number;
}

function compileTerm(pod: Pod, t: PodAffinityTerm, weight: number): AffinityTerm {
  let selector: Selector;
  try {
    selector = selectorFromLabelSelector(t.labelSelector);
  } catch {
    selector = nothing();
  }
  // matchLabelKeys / mismatchLabelKeys fold the incoming pod's label values into the selector
  const extra: string[] = [];
  for (const k of t.matchLabelKeys ?? []) if (pod.metadata?.labels?.[k] !== undefined) extra.push(`${k}=${pod.metadata.labels[k]}`);
  for (const k of t.mismatchLabelKeys ?? []) if (pod.metadata?.labels?.[k] !== undefined) extra.push(`${k}!=${pod.metadata.labels[k]}`);
  if (extra.length) {
    const base = selector;
    const pairs = extra.map((e) => (e.includes('!=') ? { k: e.split('!=')[0], v: e.split('!=')[1], neg: true } : { k: e.split('=')[0], v: e.split('=')[1], neg: false }));
    selector = {
      ...base,
      matches: (l) => base.matches(l) && pairs.every((p) => ((l ?? {})[p.k] === p.v) !== p.neg),
    };
  }
  let namespaceSelector: Selector | undefined;
  if (t.namespaceSelector) {
    try {
      namespaceSelector = selectorFromLabelSelector(t.namespaceSelector);
    } catch {
      namespaceSelector = undefined;
    }
  }
  const namespaces = new Set<string>(t.namespaces ?? []);
  if (!namespaces.size && !t.namespaceSelector) namespaces.add(pod.metadata?.namespace ?? 'default');
  const key = `${[...namespaces].sort().join(',')}|${namespaceSelector?.toString() ?? '-'}|${selector.toString()}|${extra.join(',')}`;
  return { selector, namespaces, namespaceSelector, topologyKey: t.topologyKey, weight, key };
}

const weighted = (pod: Pod, ts: WeightedPodAffinityTerm[] | undefined) => (ts ?? []).map((t) => compileTerm(pod, t.podAffinityTerm, t.weight));

export function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

export function newPodInfo(pod: Pod, priority = pod.spec?.priority ?? 0): PodInfo {
  const hostPorts: HostPort[] = [];
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    for (const p of c.ports ?? []) if (p.hostPort && p.hostPort > 0) hostPorts.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
  }
  const nz = podRequests(pod, true);
  const aff = pod.spec?.affinity;
  return {
    key: podKey(pod),
    pod,
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    labels: pod.metadata?.labels ?? {},
    priority,
    requests: podRequests(pod),
    nonZero: { milliCPU: nz.milliCPU, memory: nz.memory },
    hostPorts,
    requiredAffinity: (aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileTerm(pod, t, 1)),
    requiredAntiAffinity: (aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => compileTerm(pod, t, 1)),
    preferredAffinity: weighted(pod, aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinity: weighted(pod, aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    createdMs: pod.metadata?.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : Date.now(),
  };
}

/** Does `term` (declared by some pod) select `target`? nsLabels resolves namespace labels for namespaceSelector. */
export function termMatches(term: AffinityTerm, target: PodInfo, nsLabels: (ns: string) => Record<string, string> | undefined): boolean {
  if (!term.namespaces.has(target.namespace)) {
    if (!term.namespaceSelector || !term.namespaceSelector.matches(nsLabels(target.namespace) ?? {})) return false;
  }
  return term.selector.matches(target.labels);
}

export function hasAffinity(p: PodInfo): boolean {
  return p.requiredAffinity.length + p.requiredAntiAffinity.length + p.preferredAffinity.length + p.preferredAntiAffinity.length > 0;
}
