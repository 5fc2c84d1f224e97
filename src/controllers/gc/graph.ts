// The garbage collector's dependency graph: one node per object uid (across all
// resources), edges from owner to dependents taken from ownerReferences. A node
// may be "virtual": referenced as an owner but not (or no longer) observed.
import type { KubeObject } from '../../api/kind.js';
import type { ResourceRef } from '../../client/resource.js';

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface GraphNode {
  uid: string;
  /** the observed object (stripped metadata); undefined for virtual nodes */
  obj?: KubeObject;
  ref?: ResourceRef;
  /** uids of objects naming this one as owner */
  dependents?: Set<string>;
}

export const owners = (o: KubeObject | undefined): OwnerRef[] => (o?.metadata?.ownerReferences as OwnerRef[] | undefined) ?? [];
export const hasFinalizer = (o: KubeObject | undefined, f: string): boolean => !!o?.metadata?.finalizers?.includes(f);
export const isDeleting = (o: KubeObject | undefined): boolean => !!o?.metadata?.deletionTimestamp;
/** being deleted in the foreground: waits for its blocking dependents */
export const deletingDependents = (o: KubeObject | undefined): boolean => isDeleting(o) && hasFinalizer(o, 'foregroundDeletion');

export interface UpsertResult {
  /** owner uids this object no longer references */
  removedOwners: string[];
}

export class Graph {
  readonly nodes = new Map<string, GraphNode>();

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  /** The observed object with this uid, if any. */
  object(uid: string): KubeObject | undefined {
    return this.nodes.get(uid)?.obj;
  }

  upsert(obj: KubeObject, ref: ResourceRef): UpsertResult {
    const uid = obj.metadata!.uid!;
    let node = this.nodes.get(uid);
    if (!node) this.nodes.set(uid, (node = { uid }));
    const before = new Set(owners(node.obj).map((o) => o.uid));
    const after = new Set(owners(obj).map((o) => o.uid));
    node.obj = obj;
    node.ref = ref;
    const removedOwners: string[] = [];
    for (const u of before) {
      if (after.has(u)) continue;
      removedOwners.push(u);
      this.unlink(u, uid);
    }
    for (const u of after) {
      if (before.has(u)) continue;
      let owner = this.nodes.get(u);
      if (!owner) this.nodes.set(u, (owner = { uid: u }));
      (owner.dependents ??= new Set()).add(uid);
    }
    return { removedOwners };
  }

  /** The object was deleted: returns its node (with dependents) as it was. */
  remove(uid: string): GraphNode | undefined {
    const node = this.nodes.get(uid);
    if (!node) return undefined;
    const obj = node.obj;
    for (const o of owners(obj)) this.unlink(o.uid, uid);
    node.obj = undefined;
    node.ref = undefined;
    if (!node.dependents?.size) this.nodes.delete(uid);
    return { uid, obj, dependents: node.dependents ? new Set(node.dependents) : undefined };
  }

  private unlink(ownerUid: string, dependentUid: string): void {
    const owner = this.nodes.get(ownerUid);
    if (!owner) return;
    owner.dependents?.delete(dependentUid);
    if (!owner.obj && !owner.dependents?.size) this.nodes.delete(ownerUid);
  }

  /** Observed dependents of an owner. */
  dependentsOf(uid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const d of this.nodes.get(uid)?.dependents ?? []) {
      const n = this.nodes.get(d);
      if (n?.obj) out.push(n);
    }
    return out;
  }
}
