// ResourceRefs for the built-in kinds, derived from the shared kind definitions.
import { builtinKinds } from '../api/kinds/index.js';
import type { ResourceRef } from './resource.js';

const byKey = new Map<string, ResourceRef>();
for (const k of builtinKinds) {
  const ref: ResourceRef = { group: k.group, version: k.version, resource: k.resource, kind: k.kind, namespaced: k.namespaced };
  byKey.set(`${k.group}/${k.version}/${k.resource}`, ref);
  // preferred lookups by group/resource (first definition wins: the storage version)
  if (!byKey.has(`${k.group}/${k.resource}`)) byKey.set(`${k.group}/${k.resource}`, ref);
}

/** Ref for a built-in resource, e.g. ref('apps', 'deployments') or ref('', 'pods'). */
export function ref(group: string, resource: string, version?: string): ResourceRef {
  const r = byKey.get(version ? `${group}/${version}/${resource}` : `${group}/${resource}`);
  if (!r) throw new Error(`unknown resource ${group}/${resource}`);
  return r;
}

/** Every namespaced built-in resource that supports deletecollection (for namespace cleanup). */
export function namespacedResources(): ResourceRef[] {
  const seen = new Set<string>();
  const out: ResourceRef[] = [];
  for (const k of builtinKinds) {
    if (!k.namespaced) continue;
    const verbs = k.verbs ?? ['deletecollection', 'list'];
    if (!verbs.includes('deletecollection') || !verbs.includes('list')) continue;
    const storage = k.storageResource ?? k.resource;
    if (seen.has(storage)) continue; // one version is enough per stored resource
    seen.add(storage);
    out.push({ group: k.group, version: k.version, resource: k.resource, kind: k.kind, namespaced: true });
  }
  return out;
}
