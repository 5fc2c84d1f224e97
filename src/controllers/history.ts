// Shared helpers for controllers that keep their pod template history in
// ControllerRevisions (StatefulSet, DaemonSet), the way kubectl's `rollout
// history|undo` expects: a revision's `data` is a strategic merge patch that
// replaces spec.template, its `revision` number orders the history, and pods
// carry the `controller-revision-hash` label of the revision they were made from.
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../api/kind.js';
import { isAlreadyExists, isNotFound } from '../client/api.js';
import type { InformerFactory } from '../client/factory.js';
import type { Informer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { controllerOf, controllerRef, controllerUidIndex, indexByController } from './util/controllerRef.js';
import { fnv32a, safeAlphabet } from './util/hash.js';

export const revisionHashLabel = 'controller-revision-hash';

/** The controllerRef a workload puts on its pods and revisions. */
export function ownerRef(owner: KubeObject, blockOwnerDeletion = true): OwnerReference {
  return { ...controllerRef(owner, owner.apiVersion ?? 'apps/v1', owner.kind ?? ''), blockOwnerDeletion };
}

/** JSON with object keys sorted, so equal objects serialize (and hash) the same whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

export function deepEqualJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** n in base 27 over the safe alphabet, least significant digit first. */
export function safeEncode(n: number): string {
  let out = '';
  let x = n >>> 0;
  for (let i = 0; i < 16; i++) {
    out += safeAlphabet[x % safeAlphabet.length];
    x = Math.floor(x / safeAlphabet.length);
    if (x === 0) break;
  }
  return out;
}

/** Hash of a revision's data, perturbed by the owner's collisionCount. */
export function revisionHash(data: unknown, collisionCount = 0): string {
  return safeEncode(fnv32a(canonicalJson(data) + (collisionCount ? `#${collisionCount}` : '')));
}

/** The revision data of a workload: a patch replacing its whole pod template. */
export function templatePatch(owner: KubeObject): KubeObject {
  const template = JSON.parse(JSON.stringify(owner.spec?.template ?? {}));
  // Shape it as Go's typed encoding would (kubectl compares these bytes with its
  // own encoding of the live template to skip a no-op `rollout undo`): keys
  // sorted, metadata.creationTimestamp null, containers' resources always present.
  template.metadata ??= {};
  if (!('creationTimestamp' in template.metadata)) template.metadata.creationTimestamp = null;
  for (const list of ['initContainers', 'containers', 'ephemeralContainers']) {
    for (const c of template.spec?.[list] ?? []) c.resources ??= {};
  }
  return JSON.parse(canonicalJson({ spec: { template: { ...template, $patch: 'replace' } } }));
}

export interface RevisionSync {
  current: KubeObject;
  update: KubeObject;
  /** every revision owned, oldest first (including current/update) */
  revisions: KubeObject[];
  collisionCount: number;
}

function byRevision(a: KubeObject, b: KubeObject): number {
  return (a.revision ?? 0) - (b.revision ?? 0) || String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')) || a.metadata!.name!.localeCompare(b.metadata!.name!);
}

/** ControllerRevisions of one kind of owner, read from the shared informer. */
export class RevisionHistory {
  readonly informer: Informer;
  readonly client: ResourceClient;

  constructor(factory: InformerFactory) {
    this.informer = factory.informer('apps', 'controllerrevisions');
    this.client = factory.client('apps', 'controllerrevisions');
    indexByController(this.informer);
  }

  list(owner: KubeObject): KubeObject[] {
    return this.informer.byIndex(controllerUidIndex, owner.metadata!.uid!).sort(byRevision);
  }

  /**
   * Make sure a revision for the owner's current template exists and is the
   * newest one (an older equal revision, e.g. after `rollout undo`, is renumbered),
   * and find the current revision named in status.currentRevision.
   */
  async sync(owner: KubeObject): Promise<RevisionSync> {
    const ns = owner.metadata!.namespace!;
    let collisionCount: number = owner.status?.collisionCount ?? 0;
    const revisions = this.list(owner);
    const data = templatePatch(owner);
    const maxRev = revisions.length ? revisions[revisions.length - 1].revision ?? 0 : 0;
    const equal = revisions.filter((r) => deepEqualJson(r.data, data));
    let update: KubeObject | undefined;
    if (equal.length) {
      update = equal[equal.length - 1];
      if (update !== revisions[revisions.length - 1] && (update.revision ?? 0) <= maxRev) {
        update = await this.client.patch(ns, update.metadata!.name!, { revision: maxRev + 1 }, 'merge');
        this.replace(revisions, update);
      }
    } else {
      for (let attempt = 0; attempt < 20 && !update; attempt++) {
        const hash = revisionHash(data, collisionCount);
        const labels = { ...(owner.spec?.template?.metadata?.labels ?? {}), [revisionHashLabel]: hash };
        const cr: KubeObject = {
          apiVersion: 'apps/v1',
          kind: 'ControllerRevision',
          metadata: { name: `${owner.metadata!.name}-${hash}`, namespace: ns, labels, annotations: { ...(owner.metadata?.annotations ?? {}) }, ownerReferences: [ownerRef(owner)] },
          data,
          revision: maxRev + 1,
        };
        delete cr.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration'];
        try {
          update = await this.client.create(cr, ns);
          revisions.push(update);
        } catch (e) {
          if (!isAlreadyExists(e)) throw e;
          const existing = await this.client.get(ns, cr.metadata!.name!).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
          if (existing && deepEqualJson(existing.data, data) && controllerOf(existing)?.uid === owner.metadata!.uid) {
            update = existing.revision > maxRev || existing.revision === maxRev ? existing : await this.client.patch(ns, cr.metadata!.name!, { revision: maxRev + 1 }, 'merge');
            this.replace(revisions, update!);
            if (!revisions.includes(update!)) revisions.push(update!);
          } else if (existing) {
            collisionCount++; // a different revision holds this name: perturb the hash
          }
        }
      }
      if (!update) throw new Error(`could not create a ControllerRevision for ${ns}/${owner.metadata!.name}`);
    }
    revisions.sort(byRevision);
    const current = revisions.find((r) => r.metadata!.name === owner.status?.currentRevision) ?? update;
    return { current, update, revisions, collisionCount };
  }

  private replace(revisions: KubeObject[], updated: KubeObject): void {
    const i = revisions.findIndex((r) => r.metadata!.name === updated.metadata!.name);
    if (i >= 0) revisions[i] = updated;
  }

  /** Delete the oldest revisions not in use beyond the owner's revisionHistoryLimit. */
  async truncate(owner: KubeObject, revisions: KubeObject[], live: Set<string>): Promise<void> {
    const limit: number = owner.spec?.revisionHistoryLimit ?? 10;
    const dead = revisions.filter((r) => !live.has(r.metadata!.name!));
    const excess = dead.length - limit;
    for (let i = 0; i < excess; i++) {
      await this.client.delete(owner.metadata!.namespace, dead[i].metadata!.name!).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }
}

/** Resolve an int-or-percent against a total (percentages round up for surge, down for unavailability, like upstream). */
export function scaledValue(v: number | string | undefined, total: number, roundUp: boolean, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return Number.isFinite(Number(v)) ? Number(v) : dflt;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/**
 * Run fn over items with slow start (1, 2, 4, … at a time, like upstream's
 * batched pod creation): a systematic failure costs one call, not thousands.
 * Stops at the first batch with an error and throws it.
 */
export async function slowStart<T>(items: T[], fn: (item: T) => Promise<void>, maxBatch = 64): Promise<void> {
  let i = 0;
  for (let batch = 1; i < items.length; batch = Math.min(batch * 2, maxBatch)) {
    const chunk = items.slice(i, i + batch);
    i += chunk.length;
    const results = await Promise.allSettled(chunk.map(fn));
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
  }
}
