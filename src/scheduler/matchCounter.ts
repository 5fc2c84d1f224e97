// Counts, per node, the pods matching some selector, remembering each count
// with the node's generation: spreading and affinity ask the same question for
// every pod of a workload, and between two pods only one node changes.
import type { NodeInfo } from './nodeInfo.js';
import type { PodInfo } from './podInfo.js';

const maxSelectors = 4096;

export class MatchCounter {
  private readonly cache = new Map<string, Map<string, { gen: number; n: number }>>();

  /** Pods on `node` (not terminating) for which match() holds; `key` names the match function. */
  count(node: NodeInfo, key: string, match: (p: PodInfo) => boolean): number {
    let perNode = this.cache.get(key);
    if (!perNode) {
      if (this.cache.size >= maxSelectors) this.cache.clear();
      this.cache.set(key, (perNode = new Map()));
    }
    const hit = perNode.get(node.name);
    if (hit && hit.gen === node.generation) return hit.n;
    let n = 0;
    for (const p of node.pods.values()) if (!p.pod.metadata?.deletionTimestamp && match(p)) n++;
    perNode.set(node.name, { gen: node.generation, n });
    return n;
  }
}
