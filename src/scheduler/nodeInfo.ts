// NodeInfo: one node with everything the filters need pre-aggregated: the
// requests of its pods (incl. assumed ones), host ports in use, and the pods
// themselves, split out by whether they carry (anti-)affinity.
import type { Node, Taint } from 'kubernetes-types/core/v1.js';
import { addTo, cloneResources, emptyResources, nodeAllocatable, type Resources } from './resources.js';
import { hasAffinity, type PodInfo } from './podInfo.js';

let generation = 0;

export class NodeInfo {
  node?: Node;
  labels: Record<string, string> = {};
  taints: Taint[] = [];
  unschedulable = false;
  allocatable: Resources = emptyResources();
  requested: Resources = emptyResources();
  /** requests with scoring defaults for containers that request nothing */
  nonZeroRequested = { milliCPU: 0, memory: 0 };
  readonly pods = new Map<string, PodInfo>();
  /** pods with any pod (anti-)affinity: the only ones InterPodAffinity must look at */
  readonly podsWithAffinity = new Map<string, PodInfo>();
  /** "protocol/port" -> host IPs in use */
  readonly usedPorts = new Map<string, Map<string, number>>();
  generation = ++generation;

  constructor(public readonly name: string) {}

  setNode(node: Node): void {
    this.node = node;
    this.labels = node.metadata?.labels ?? {};
    this.taints = node.spec?.taints ?? [];
    this.unschedulable = !!node.spec?.unschedulable;
    this.allocatable = nodeAllocatable(node);
    this.generation = ++generation;
  }

  addPod(p: PodInfo): void {
    this.update(p, 1);
    this.pods.set(p.key, p);
    if (hasAffinity(p)) this.podsWithAffinity.set(p.key, p);
  }

  removePod(key: string): PodInfo | undefined {
    const p = this.pods.get(key);
    if (!p) return undefined;
    this.update(p, -1);
    this.pods.delete(key);
    this.podsWithAffinity.delete(key);
    return p;
  }

  private update(p: PodInfo, sign: 1 | -1): void {
    addTo(this.requested, p.requests, sign);
    this.nonZeroRequested.milliCPU += sign * p.nonZero.milliCPU;
    this.nonZeroRequested.memory += sign * p.nonZero.memory;
    for (const hp of p.hostPorts) {
      const k = `${hp.protocol}/${hp.port}`;
      let ips = this.usedPorts.get(k);
      if (!ips) this.usedPorts.set(k, (ips = new Map()));
      const n = (ips.get(hp.ip) ?? 0) + sign;
      if (n > 0) ips.set(hp.ip, n);
      else ips.delete(hp.ip);
      if (!ips.size) this.usedPorts.delete(k);
    }
    this.generation = ++generation;
  }

  /** Would a host port conflict with ports in use? 0.0.0.0 conflicts with every IP. */
  portConflict(ip: string, protocol: string, port: number): boolean {
    const ips = this.usedPorts.get(`${protocol}/${port}`);
    if (!ips) return false;
    if (ip === '0.0.0.0') return ips.size > 0;
    return ips.has(ip) || ips.has('0.0.0.0');
  }

  /** An independent copy (preemption simulates removing pods on it). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    c.node = this.node;
    c.labels = this.labels;
    c.taints = this.taints;
    c.unschedulable = this.unschedulable;
    c.allocatable = this.allocatable;
    c.requested = cloneResources(this.requested);
    c.nonZeroRequested = { ...this.nonZeroRequested };
    for (const [k, p] of this.pods) c.pods.set(k, p);
    for (const [k, p] of this.podsWithAffinity) c.podsWithAffinity.set(k, p);
    for (const [k, ips] of this.usedPorts) c.usedPorts.set(k, new Map(ips));
    return c;
  }
}
