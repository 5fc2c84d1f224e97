// The scheduling framework: upstream's extension points (PreFilter, Filter,
// PostFilter, PreScore, Score, NormalizeScore, Reserve, Permit, Bind), plugin
// weights, statuses with reasons, and how many nodes to look at per pod.
import type { NodeInfo } from './nodeInfo.js';
import type { PodInfo } from './podInfo.js';

export enum Code {
  Success = 0,
  Error = 1,
  /** the node cannot take the pod now; preemption may help */
  Unschedulable = 2,
  /** preemption cannot help on this node */
  UnschedulableAndUnresolvable = 3,
  /** PreFilter/PreScore: this plugin has nothing to do for this pod */
  Skip = 4,
}

export class Status {
  plugin = '';
  constructor(public readonly code: Code, public readonly reasons: string[] = []) {}
  get message(): string {
    return this.reasons.join(', ');
  }
  get rejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }
}

/** `null` is success: the hot path allocates nothing. */
export type Result = Status | null;

export const unschedulable = (...reasons: string[]) => new Status(Code.Unschedulable, reasons);
export const unresolvable = (...reasons: string[]) => new Status(Code.UnschedulableAndUnresolvable, reasons);
export const skip = new Status(Code.Skip);

/** Per-pod scratch space shared between a plugin's extension points within one cycle. */
export type CycleState = Map<string, unknown>;

/** What plugins may read about the cluster besides the node they are asked about. */
export interface Handle {
  /** every node (with a Node object) in the cache */
  nodes(): NodeInfo[];
  node(name: string): NodeInfo | undefined;
  namespaceLabels(ns: string): Record<string, string> | undefined;
  /** label selectors of the Services and owning controllers of a pod (for default spreading) */
  defaultSelectors(pod: PodInfo): import('../api/labels.js').Selector[];
  pvcExists(namespace: string, name: string): boolean;
  /** every placed pod carrying pod (anti-)affinity, with its node */
  affinityPods(): Iterable<{ pod: PodInfo; node: NodeInfo }>;
  readonly counter: import('./matchCounter.js').MatchCounter;
}

export interface Plugin {
  readonly name: string;
  /** score weight (upstream's default profile) */
  readonly weight?: number;
  preFilter?(state: CycleState, pod: PodInfo): Result;
  filter?(state: CycleState, pod: PodInfo, node: NodeInfo): Result;
  preScore?(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): Result;
  /** 0..100 unless normalizeScore rescales */
  score?(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  normalizeScore?(state: CycleState, pod: PodInfo, scores: Float64Array): void;
  reserve?(state: CycleState, pod: PodInfo, node: string): Result;
  unreserve?(state: CycleState, pod: PodInfo, node: string): void;
}

export const maxNodeScore = 100;

/** Rescale scores to 0..100 (reverse: higher raw score is worse). */
export function defaultNormalize(scores: Float64Array, reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(maxNodeScore);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const v = (maxNodeScore * scores[i]) / max;
    scores[i] = reverse ? maxNodeScore - v : v;
  }
}

const minFeasibleNodesToFind = 100;
const minFeasibleNodesPercentageToFind = 5;

/**
 * How many feasible nodes to find before scoring: everything below 100 nodes;
 * otherwise `percentage` of them (adaptive by default: 50% minus 1% per 125
 * nodes, at least 5%), and never fewer than 100.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) {
    pct = 50 - numAllNodes / 125;
    if (pct < minFeasibleNodesPercentageToFind) pct = minFeasibleNodesPercentageToFind;
  }
  if (pct >= 100) return numAllNodes;
  const n = Math.floor((numAllNodes * pct) / 100);
  return n < minFeasibleNodesToFind ? minFeasibleNodesToFind : n;
}

export class Framework {
  readonly filters: Plugin[];
  readonly scorers: Plugin[];

  constructor(readonly plugins: Plugin[], readonly handle: Handle) {
    this.filters = plugins.filter((p) => p.filter);
    this.scorers = plugins.filter((p) => p.score);
  }

  /** Runs every PreFilter; returns the failing status, and the plugins whose Filter can be skipped. */
  runPreFilter(state: CycleState, pod: PodInfo): { status: Result; skipped: Set<string> } {
    const skipped = new Set<string>();
    for (const p of this.plugins) {
      if (!p.preFilter) continue;
      const s = p.preFilter(state, pod);
      if (!s) continue;
      if (s.code === Code.Skip) {
        skipped.add(p.name);
        continue;
      }
      s.plugin = p.name;
      return { status: s, skipped };
    }
    return { status: null, skipped };
  }

  runFilter(state: CycleState, pod: PodInfo, node: NodeInfo, filters: Plugin[]): Result {
    for (const p of filters) {
      const s = p.filter!(state, pod, node);
      if (s) {
        s.plugin = p.name;
        return s;
      }
    }
    return null;
  }

  /** Weighted, normalized total score per node (same order as `nodes`). */
  runScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[]): Float64Array {
    const total = new Float64Array(nodes.length);
    for (const p of this.scorers) {
      if (p.preScore) {
        const s = p.preScore(state, pod, nodes);
        if (s?.code === Code.Skip) continue;
      }
      const scores = new Float64Array(nodes.length);
      for (let i = 0; i < nodes.length; i++) scores[i] = p.score!(state, pod, nodes[i]);
      p.normalizeScore?.(state, pod, scores);
      const w = p.weight ?? 1;
      for (let i = 0; i < nodes.length; i++) total[i] += scores[i] * w;
    }
    return total;
  }

  runReserve(state: CycleState, pod: PodInfo, node: string): Result {
    for (const p of this.plugins) {
      const s = p.reserve?.(state, pod, node);
      if (s) {
        s.plugin = p.name;
        for (const q of this.plugins) q.unreserve?.(state, pod, node);
        return s;
      }
    }
    return null;
  }

  runUnreserve(state: CycleState, pod: PodInfo, node: string): void {
    for (const p of this.plugins) p.unreserve?.(state, pod, node);
  }
}

/** Formats reasons as upstream's histogram: "3 Insufficient cpu, 1 node(s) were unschedulable". */
export function reasonHistogram(statuses: Iterable<Status>): string {
  const counts = new Map<string, number>();
  for (const s of statuses) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

/** A pod that fits no node: upstream's FitError message. */
export class FitError {
  constructor(
    readonly numAllNodes: number,
    /** node name -> why it was rejected */
    readonly nodeStatuses: Map<string, Status>,
    readonly preFilterMsg = '',
    public postFilterMsg = '',
  ) {}

  get message(): string {
    let m = `0/${this.numAllNodes} nodes are available:`;
    if (this.preFilterMsg) m += ` ${this.preFilterMsg}.`;
    else {
      const h = reasonHistogram(this.nodeStatuses.values());
      if (h) m += ` ${h}.`;
    }
    if (this.postFilterMsg) m += ` ${this.postFilterMsg}`;
    return m;
  }
}
