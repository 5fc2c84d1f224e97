// The scheduler's cache of nodes and the pods placed on them. A pod is
// "assumed" on its node the moment the scheduler decides, before the binding
// call returns, so the next pod already sees the capacity as taken; the assumption
// is confirmed when the informer reports the pod bound, or forgotten if binding fails.
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { NodeInfo } from './nodeInfo.js';
import type { PodInfo } from './podInfo.js';

interface PodState {
  info: PodInfo;
  node: string;
  assumed: boolean;
}

export class SchedulerCache {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly podStates = new Map<string, PodState>();
  /** nodes in a stable order for the rotating filter start; rebuilt lazily */
  private order: NodeInfo[] | undefined;

  /** Nodes that exist (have a Node object), in a stable order. */
  nodeList(): NodeInfo[] {
    if (!this.order) this.order = [...this.nodes.values()].filter((n) => n.node);
    return this.order;
  }

  get(name: string): NodeInfo | undefined {
    const n = this.nodes.get(name);
    return n?.node ? n : undefined;
  }

  private ensure(name: string): NodeInfo {
    let n = this.nodes.get(name);
    if (!n) {
      this.nodes.set(name, (n = new NodeInfo(name)));
      this.order = undefined;
    }
    return n;
  }

  addOrUpdateNode(node: Node): NodeInfo {
    const n = this.ensure(node.metadata!.name!);
    if (!n.node) this.order = undefined;
    n.setNode(node);
    return n;
  }

  removeNode(name: string): void {
    const n = this.nodes.get(name);
    if (!n) return;
    this.order = undefined;
    // pods may still reference the node until they are deleted: keep a ghost entry
    if (n.pods.size) n.node = undefined;
    else this.nodes.delete(name);
  }

  /** A pod assigned to a node (informer add/update, or confirmation of an assumed pod). */
  addPod(info: PodInfo): void {
    const node = info.pod.spec?.nodeName;
    if (!node) return;
    const cur = this.podStates.get(info.key);
    if (cur) {
      if (cur.node === node && cur.info.uid === info.uid && !cur.assumed && cur.info.pod.metadata?.resourceVersion === info.pod.metadata?.resourceVersion) return;
      this.nodes.get(cur.node)?.removePod(info.key);
    }
    this.ensure(node).addPod(info);
    this.podStates.set(info.key, { info, node, assumed: false });
  }

  removePod(pod: Pod, key: string): void {
    const cur = this.podStates.get(key);
    if (!cur) return;
    if (pod.metadata?.uid && cur.info.uid && pod.metadata.uid !== cur.info.uid) return;
    this.podStates.delete(key);
    const n = this.nodes.get(cur.node);
    n?.removePod(key);
    if (n && !n.node && !n.pods.size) this.nodes.delete(cur.node);
  }

  assumePod(info: PodInfo, node: string): void {
    const cur = this.podStates.get(info.key);
    if (cur) this.nodes.get(cur.node)?.removePod(info.key);
    this.ensure(node).addPod(info);
    this.podStates.set(info.key, { info, node, assumed: true });
  }

  /** Binding failed: give the capacity back. */
  forgetPod(key: string): void {
    const cur = this.podStates.get(key);
    if (!cur || !cur.assumed) return;
    this.podStates.delete(key);
    this.nodes.get(cur.node)?.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.podStates.get(key)?.assumed ?? false;
  }

  podNode(key: string): string | undefined {
    return this.podStates.get(key)?.node;
  }

  get podCount(): number {
    return this.podStates.size;
  }
}
