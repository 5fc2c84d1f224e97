// ResourceQuota admission: a new object is admitted only if every quota of its
// namespace that limits what it consumes has room for it. Like upstream, the
// check charges the quota's status.used with compare-and-swap before the object
// is stored, so concurrent creates cannot overshoot; the quota controller later
// recomputes the exact usage (and gives back what deletions free).
import { errors, StatusError } from '../../api/errors.js';
import type { KubeObject } from '../../api/kind.js';
import type { KindRegistry } from '../../api/registry.js';
import {
  addLists, canonicalList, exceeded, listIsZero, maskList, matchingResources, podConstraints, prettyPrint, quotaMatches, subtractLists, usageOf, type ResourceList,
} from '../../api/quota.js';
import { compareQuantities } from '../../api/quantity.js';
import { systemContext } from '../context.js';
import type { AdmissionAttributes, AdmissionPlugin, RestStore } from '../rest.js';
import type { WatchCache } from '../watchCache.js';

interface Charge {
  quota: string;
  usage: ResourceList;
}

function forbidden(a: AdmissionAttributes, why: string): StatusError {
  const res = a.def.group ? `${a.def.resource}.${a.def.group}` : a.def.resource;
  return errors.forbidden(`${res} "${a.name}" is forbidden: ${why}`, a.def.resource, a.name, a.def.group);
}

export function resourceQuota(store: () => RestStore, cache: () => WatchCache, registry: KindRegistry): AdmissionPlugin {
  const rqDef = registry.byGVR('', 'v1', 'resourcequotas')!;
  /** what a create charged, released if the object is not stored after all */
  const reserved = new WeakMap<KubeObject, { namespace: string; charges: Charge[] }>();
  // charges to one quota are serialized in this server (CAS still guards against other servers)
  const locks = new Map<string, Promise<unknown>>();
  const serialized = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => locks.get(key) === tail && locks.delete(key));
    return run;
  };

  /** The part of `usage` this quota limits, or an error if it does not fit. */
  const charge = (a: AdmissionAttributes, quota: KubeObject, usage: ResourceList): ResourceList | undefined => {
    const { group, resource } = a.def;
    if (!quotaMatches(quota, group, resource, a.obj)) return undefined;
    const hard: ResourceList = quota.status?.hard ?? {};
    const used: ResourceList = quota.status?.used ?? {};
    const names = matchingResources(group, resource, Object.keys(hard));
    const requested = maskList(usage, names);
    if (listIsZero(requested)) return undefined;
    const newUsed = maskList(addLists(used, requested), Object.keys(requested));
    const over = exceeded(newUsed, hard);
    if (over.length) {
      throw forbidden(a, `exceeded quota: ${quota.metadata!.name}, requested: ${prettyPrint(maskList(requested, over))}, used: ${prettyPrint(maskList(used, over))}, limited: ${prettyPrint(maskList(hard, over))}`);
    }
    return requested;
  };

  const release = async (namespace: string, charges: Charge[]) => {
    for (const c of charges) {
      await serialized(`${namespace}/${c.quota}`, () =>
        store().update(rqDef, namespace, c.quota, 'status', systemContext(), (cur) => {
          delete cur.metadata?.resourceVersion; // compare-and-swap on the version read: retried on conflicts
          const used: ResourceList = { ...(cur.status?.used ?? {}) };
          for (const [k, v] of Object.entries(subtractLists(maskList(used, Object.keys(c.usage)), c.usage))) {
            used[k] = compareQuantities(v, '0') < 0 ? '0' : v;
          }
          cur.status = { ...(cur.status ?? {}), used: canonicalList(used) };
          return cur;
        }),
      )
        .catch(() => undefined); // the quota controller recomputes anyway
    }
  };

  return {
    name: 'ResourceQuota',
    async validate(a) {
      if (a.op !== 'CREATE' || a.subresource || !a.def.namespaced || !a.namespace) return;
      const sr = store().storageResource(rqDef);
      const quotas = cache().list(sr, `/registry/${sr}/${a.namespace}/`).map((c) => c.obj);
      const { group, resource } = a.def;
      const matching = quotas.filter((q) => quotaMatches(q, group, resource, a.obj));
      if (!matching.length) return;
      // validation has already run (mutating → validation → validating), and a dry run charges nothing
      if (a.ctx.dryRun) return;
      const usage = usageOf(group, resource, a.obj);
      if (listIsZero(usage)) return;

      const pertinent: KubeObject[] = [];
      for (const quota of matching) {
        const hard: ResourceList = quota.status?.hard ?? {};
        const restricted = matchingResources(group, resource, Object.keys(hard));
        if (group === '' && resource === 'pods') {
          const why = podConstraints(restricted, a.obj);
          if (why) throw forbidden(a, `failed quota: ${quota.metadata!.name}: ${why}`);
        }
        const used = quota.status?.used ?? {};
        const missing = restricted.filter((r) => !(r in used));
        if (missing.length) throw forbidden(a, `status unknown for quota: ${quota.metadata!.name}, resources: ${missing.join(',')}`);
        pertinent.push(quota);
      }
      if (!pertinent.length) return;
      if (a.ctx.dryRun) {
        for (const quota of pertinent) charge(a, quota, usage);
        return;
      }
      // charge each quota with compare-and-swap on its latest state (update retries on conflicts)
      const charges: Charge[] = [];
      try {
        for (const quota of pertinent) {
          let took: ResourceList | undefined;
          const name = quota.metadata!.name!;
          await serialized(`${a.namespace}/${name}`, () =>
            store().update(rqDef, a.namespace, name, 'status', systemContext(), (cur) => {
              delete cur.metadata?.resourceVersion; // compare-and-swap on the version read: retried on conflicts
              took = charge(a, cur, usage);
              if (!took) return cur;
              const used: ResourceList = cur.status?.used ?? {};
              cur.status = { ...(cur.status ?? {}), used: canonicalList({ ...used, ...addLists(maskList(used, Object.keys(took)), took) }) };
              return cur;
            }),
          );
          if (took) charges.push({ quota: quota.metadata!.name!, usage: took });
        }
      } catch (err) {
        await release(a.namespace, charges);
        if (err instanceof StatusError && err.reason === 'NotFound') return; // quota deleted meanwhile: nothing to enforce
        throw err;
      }
      if (charges.length) reserved.set(a.obj, { namespace: a.namespace, charges });
    },
    committed(a) {
      const r = reserved.get(a.obj);
      if (!r) return;
      reserved.delete(a.obj);
      // a create that failed after admission: give the reservation back
      if (a.op === 'DELETE') void release(r.namespace, r.charges);
    },
  };
}
