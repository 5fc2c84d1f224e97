// ControllerRef helpers (client-go's ControllerRefManager): which owner controls
// an object, indexes of dependents by their controller's uid, and claiming
// (adopt matching orphans, release controlled objects that stopped matching).
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../../api/kind.js';
import { isNotFound } from '../../client/api.js';
import type { Informer } from '../../client/informer.js';
import type { ResourceClient } from '../../client/resource.js';

/** Index name: uid of the controlling owner (same name and meaning as history.ts uses). */
export const controllerUidIndex = 'controller-uid';
/** Index name: namespace of objects that have no controller (orphans). */
export const orphanIndex = 'orphan-namespace';

/** The ownerReference with controller=true, if any. */
export function controllerOf(obj: KubeObject): KubeObject | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r: KubeObject) => r.controller === true);
}

/** The controllerRef to an owner of this kind in this API group (any version), if any. */
export function controllerOfKind(obj: KubeObject, group: string, kind: string): KubeObject | undefined {
  return (obj.metadata?.ownerReferences ?? []).find((r: KubeObject) => r.controller && r.kind === kind && String(r.apiVersion ?? '').startsWith(`${group}/`));
}

/** Add the controller-uid and orphan indexes to an informer (idempotent: same functions every time). */
export function indexByController(inf: Informer): void {
  inf.addIndexer(controllerUidIndex, (o) => {
    const c = controllerOf(o);
    return c?.uid ? [c.uid] : [];
  });
  inf.addIndexer(orphanIndex, (o) => (controllerOf(o) ? [] : [o.metadata?.namespace ?? '']));
}

/** The controllerRef a controller puts on what it creates. */
export function controllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true };
}

/**
 * Resolve an object's controllerRef to an owner in `owners` (an informer of the
 * owner kind): same kind, same namespace, and the same uid (a recreated owner
 * with the same name does not own the old one's dependents).
 */
export function resolveController(obj: KubeObject, kind: string, owners: Informer): KubeObject | undefined {
  const ref = controllerOf(obj);
  if (!ref || ref.kind !== kind) return undefined;
  const owner = owners.get(`${obj.metadata?.namespace}/${ref.name}`);
  return owner && owner.metadata?.uid === ref.uid ? owner : undefined;
}

export interface ClaimOptions {
  owner: KubeObject;
  /** apiVersion and kind of the owner, for the ownerReference */
  apiVersion: string;
  kind: string;
  matches(obj: KubeObject): boolean;
  /** where dependents are patched */
  client: ResourceClient;
  /**
   * Called once before the first adoption: upstream re-reads the owner from the
   * API (not the cache) to be sure it still exists with this uid and is not being
   * deleted. Throw or return false to refuse adoption.
   */
  canAdopt?(): Promise<boolean>;
}

/**
 * Claim dependents: returns those the owner controls after adopting matching
 * orphans and releasing non-matching ones. Errors on single objects that vanished
 * are ignored; other errors throw (the caller retries).
 */
export async function claimObjects(objs: KubeObject[], o: ClaimOptions): Promise<KubeObject[]> {
  const uid = o.owner.metadata!.uid;
  const deleting = !!o.owner.metadata?.deletionTimestamp;
  const claimed: KubeObject[] = [];
  let adoptChecked: boolean | undefined;
  for (const obj of objs) {
    const ref = controllerOf(obj);
    const ns = obj.metadata?.namespace;
    const name = obj.metadata!.name!;
    if (ref) {
      if (ref.uid !== uid) continue; // someone else's
      if (o.matches(obj)) {
        claimed.push(obj);
        continue;
      }
      if (deleting) continue; // an owner being deleted does not release
      try {
        await o.client.patch(ns, name, { metadata: { ownerReferences: [{ $patch: 'delete', uid }], uid: obj.metadata!.uid } }, 'strategic');
      } catch (e) {
        // gone, or replaced by a new object with another uid: nothing to release
        if (!isNotFound(e) && (e as { code?: number }).code !== 422) throw e;
      }
      continue;
    }
    // an orphan: adopt it if it matches and neither side is going away
    if (deleting || obj.metadata?.deletionTimestamp || !o.matches(obj)) continue;
    if (adoptChecked === undefined) adoptChecked = o.canAdopt ? await o.canAdopt().catch(() => false) : true;
    if (!adoptChecked) continue;
    try {
      const ref2 = controllerRef(o.owner, o.apiVersion, o.kind);
      const patched = await o.client.patch(ns, name, { metadata: { ownerReferences: [ref2], uid: obj.metadata!.uid } }, 'strategic');
      claimed.push(patched);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return claimed;
}

/** Upstream's canAdopt check: fetch the owner fresh and require the same uid, not being deleted. */
export function recheckOwner(client: ResourceClient, owner: KubeObject): () => Promise<boolean> {
  return async () => {
    const fresh = await client.get(owner.metadata?.namespace, owner.metadata!.name!);
    return fresh.metadata?.uid === owner.metadata?.uid && !fresh.metadata?.deletionTimestamp;
  };
}
