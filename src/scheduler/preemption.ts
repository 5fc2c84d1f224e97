// PostFilter preemption (upstream's DefaultPreemption): for a pod that fits no
// node, find a node where evicting lower-priority pods makes it fit, evicting
// as few and as low-priority pods as possible, then nominate that node.
import { Code, FitError, Status, unresolvable, unschedulable, type CycleState, type Framework, type Plugin } from './framework.js';
import type { NodeInfo } from './nodeInfo.js';
import type { PodInfo } from './podInfo.js';

export interface Candidate {
  node: NodeInfo;
  victims: PodInfo[];
}

export interface PreemptionResult {
  candidate?: Candidate;
  /** "preemption: …" for the FailedScheduling message when there is no candidate */
  message: string;
}

export const reasonNotHelpful = 'Preemption is not helpful for scheduling';
export const reasonNoVictims = 'No preemption victims found for incoming pod';

/** Lower-priority pods to evict on `node` so that `pod` fits, or undefined. */
export function selectVictims(fwk: Framework, state: CycleState, pod: PodInfo, node: NodeInfo, filters: Plugin[]): PodInfo[] | undefined {
  const lower: PodInfo[] = [];
  for (const p of node.pods.values()) if (p.priority < pod.priority && !p.pod.metadata?.deletionTimestamp) lower.push(p);
  if (!lower.length) return undefined;
  const sim = node.clone();
  for (const p of lower) sim.removePod(p.key);
  if (fwk.runFilter(state, pod, sim, filters)) return undefined;
  // reprieve as many as possible, most important first
  lower.sort((a, b) => b.priority - a.priority || a.createdMs - b.createdMs);
  const victims: PodInfo[] = [];
  for (const p of lower) {
    sim.addPod(p);
    if (fwk.runFilter(state, pod, sim, filters)) {
      sim.removePod(p.key);
      victims.push(p);
    }
  }
  return victims;
}

/** Upstream's order: lowest "highest victim priority", then lowest priority sum, then fewest victims. */
export function pickCandidate(cands: Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  let bestKey: number[] = [];
  for (const c of cands) {
    const key = [Math.max(...c.victims.map((v) => v.priority)), c.victims.reduce((a, v) => a + v.priority, 0), c.victims.length];
    const i = key.findIndex((k, j) => k !== bestKey[j]);
    if (!best || (i >= 0 && key[i] < bestKey[i])) {
      best = c;
      bestKey = key;
    }
  }
  return best;
}

export function preempt(fwk: Framework, state: CycleState, pod: PodInfo, fit: FitError, nodes: NodeInfo[], filters: Plugin[]): PreemptionResult {
  if (pod.pod.spec?.preemptionPolicy === 'Never') return { message: 'preemption: not eligible due to preemptionPolicy=Never.' };
  const nominated = pod.pod.status?.nominatedNodeName;
  if (nominated) {
    const n = fwk.handle.node(nominated);
    // a victim of an earlier preemption is still terminating: wait for it instead of preempting more
    if (n && [...n.pods.values()].some((p) => p.pod.metadata?.deletionTimestamp && p.priority < pod.priority)) {
      return { message: 'preemption: not eligible due to a terminating pod on the nominated node.' };
    }
  }
  const statuses = new Map<string, Status>();
  const cands: Candidate[] = [];
  for (const node of nodes) {
    const st = fit.nodeStatuses.get(node.name);
    if (st?.code === Code.UnschedulableAndUnresolvable) {
      statuses.set(node.name, unresolvable(reasonNotHelpful));
      continue;
    }
    const victims = fit.preFilterMsg ? undefined : selectVictims(fwk, state, pod, node, filters);
    if (!victims) {
      statuses.set(node.name, unschedulable(reasonNoVictims));
      continue;
    }
    cands.push({ node, victims });
  }
  const candidate = pickCandidate(cands);
  if (!candidate) return { message: `preemption: ${new FitError(nodes.length, statuses).message}` };
  return { candidate, message: '' };
}
