// ResourceQuota math shared by the quota admission plugin (apiserver) and the
// quota controller: what an object costs against a quota, which quotas apply to
// it (scopes), and comparisons of resource lists. Pure functions, no I/O.
import type { KubeObject } from './kind.js';
import { addQuantities, compareQuantities, formatQuantity, parseQuantity, subQuantities, isZero, type Quantity } from './quantity.js';

export type ResourceList = Record<string, string>;

// ------------------------------------------------------------ list arithmetic

function q(v: string | number | Quantity): Quantity {
  return parseQuantity(v);
}

export function addLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? formatQuantity(addQuantities(out[k], v)) : formatQuantity(q(v));
  return out;
}

export function subtractLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = formatQuantity(subQuantities(k in out ? out[k] : '0', v));
  return out;
}

/** Only the named keys of a list. */
export function maskList(a: ResourceList, names: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const n of names) if (n in a) out[n] = a[n];
  return out;
}

/** a <= b for every key of b present in a; returns the keys exceeding (sorted). */
export function exceeded(a: ResourceList, b: ResourceList): string[] {
  const out: string[] = [];
  for (const [k, limit] of Object.entries(b)) {
    if (k in a && compareQuantities(a[k], limit) > 0) out.push(k);
  }
  return out.sort();
}

export function listIsZero(a: ResourceList): boolean {
  return Object.values(a).every((v) => isZero(v));
}

export function sameLists(a: ResourceList | undefined, b: ResourceList | undefined): boolean {
  const ak = Object.keys(a ?? {});
  const bk = Object.keys(b ?? {});
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!(k in (b ?? {}))) return false;
    if (compareQuantities(a![k], b![k]) !== 0) return false;
  }
  return true;
}

/** upstream's prettyPrint: "k=v,k2=v2", keys sorted, canonical quantities. */
export function prettyPrint(a: ResourceList): string {
  return Object.keys(a)
    .sort()
    .map((k) => `${k}=${formatQuantity(q(a[k]))}`)
    .join(',');
}

// ------------------------------------------------------------ pods

const computeNames = new Set(['cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'pods', 'count/pods']);
const standardUnprefixed = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage', 'pods']);

/** Extended resources: domain-qualified names outside kubernetes.io (e.g. example.com/gpu). */
function isExtended(name: string): boolean {
  if (!name.includes('/')) return false;
  const domain = name.slice(0, name.indexOf('/'));
  return !(domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io') || name.startsWith('requests.'));
}

function isPodResourceName(name: string): boolean {
  if (computeNames.has(name)) return true;
  if (name.startsWith('hugepages-') || name.startsWith('requests.hugepages-')) return true;
  if (name.startsWith('requests.') && isExtended(name.slice('requests.'.length))) return true;
  return false;
}

function listOf(v: unknown): ResourceList {
  return v && typeof v === 'object' ? (v as ResourceList) : {};
}

/** Pod requests/limits: the sum over containers, at least the largest init container, plus overhead. */
export function podResources(pod: KubeObject, which: 'requests' | 'limits'): ResourceList {
  const spec = pod.spec ?? {};
  let sum: ResourceList = {};
  for (const c of spec.containers ?? []) sum = addLists(sum, listOf(c?.resources?.[which]));
  // restartable init containers (sidecars) run alongside: they add to the sum
  let sidecars: ResourceList = {};
  for (const c of spec.initContainers ?? []) {
    const r = listOf(c?.resources?.[which]);
    if (c?.restartPolicy === 'Always') {
      sidecars = addLists(sidecars, r);
      continue;
    }
    const need = addLists(sidecars, r);
    for (const [k, v] of Object.entries(need)) if (!(k in sum) || compareQuantities(v, sum[k]) > 0) sum[k] = v;
  }
  sum = addLists(sum, sidecars);
  if (spec.overhead) sum = addLists(sum, listOf(spec.overhead));
  return sum;
}

function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = { pods: '1' };
  for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
    if (r in requests) {
      out[r] = requests[r];
      out[`requests.${r}`] = requests[r];
    }
    if (r in limits) out[`limits.${r}`] = limits[r];
  }
  for (const [k, v] of Object.entries(requests)) {
    if (k.startsWith('hugepages-')) {
      out[k] = v;
      out[`requests.${k}`] = v;
    } else if (isExtended(k)) out[`requests.${k}`] = v;
  }
  return out;
}

export function isTerminalPhase(pod: KubeObject): boolean {
  const p = pod.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

/** Whether a pod still consumes compute quota (upstream's QuotaV1Pod). */
export function podCountsForQuota(pod: KubeObject, now = Date.now()): boolean {
  if (isTerminalPhase(pod)) return false;
  const m = pod.metadata ?? {};
  if (m.deletionTimestamp && m.deletionGracePeriodSeconds != null) {
    const end = Date.parse(m.deletionTimestamp) + m.deletionGracePeriodSeconds * 1000;
    if (now > end) return false;
  }
  return true;
}

export function podUsage(pod: KubeObject, now = Date.now()): ResourceList {
  const out: ResourceList = { 'count/pods': '1' }; // object count: every stored pod
  if (!podCountsForQuota(pod, now)) return out;
  return { ...out, ...computeUsage(podResources(pod, 'requests'), podResources(pod, 'limits')) };
}

const constrained = ['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

/**
 * Pods must state requests/limits for cpu/memory when a quota limits them
 * (a historical upstream rule). Returns upstream's message or undefined.
 */
export function podConstraints(required: string[], pod: KubeObject): string | undefined {
  const req = new Set(required.filter((r) => constrained.includes(r)));
  if (!req.size) return undefined;
  const missing = new Map<string, Set<string>>();
  const check = (c: KubeObject) => {
    const have = computeUsage(listOf(c?.resources?.requests), listOf(c?.resources?.limits));
    for (const r of req) {
      if (r in have) continue;
      if (!missing.has(r)) missing.set(r, new Set());
      missing.get(r)!.add(c?.name ?? '');
    }
  };
  for (const c of pod.spec?.containers ?? []) check(c);
  for (const c of pod.spec?.initContainers ?? []) check(c);
  if (!missing.size) return undefined;
  const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(',')}`);
  return `must specify ${parts.join('; ')}`;
}

function isBestEffort(pod: KubeObject): boolean {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const c of all) {
    for (const which of ['requests', 'limits'] as const) {
      const l = listOf(c?.resources?.[which]);
      for (const r of ['cpu', 'memory']) if (r in l && !isZero(l[r])) return false;
    }
  }
  return true;
}

function usesCrossNamespaceAffinity(pod: KubeObject): boolean {
  const a = pod.spec?.affinity ?? {};
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const x = a[kind] ?? {};
    const terms = [...(x.requiredDuringSchedulingIgnoredDuringExecution ?? []), ...(x.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p: KubeObject) => p?.podAffinityTerm)];
    for (const t of terms) if (t && (t.namespaceSelector || (t.namespaces ?? []).length)) return true;
  }
  return false;
}

interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

function scopeRequirements(quota: KubeObject): ScopeRequirement[] {
  const out: ScopeRequirement[] = [];
  for (const s of quota.spec?.scopes ?? []) out.push({ scopeName: s, operator: 'Exists' });
  for (const e of quota.spec?.scopeSelector?.matchExpressions ?? []) out.push(e);
  return out;
}

function podMatchesScope(pod: KubeObject, r: ScopeRequirement): boolean {
  switch (r.scopeName) {
    case 'Terminating':
      return pod.spec?.activeDeadlineSeconds != null && pod.spec.activeDeadlineSeconds >= 0;
    case 'NotTerminating':
      return !(pod.spec?.activeDeadlineSeconds != null && pod.spec.activeDeadlineSeconds >= 0);
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'CrossNamespacePodAffinity':
      return usesCrossNamespaceAffinity(pod);
    case 'PriorityClass': {
      const pc: string | undefined = pod.spec?.priorityClassName || undefined;
      switch (r.operator) {
        case 'Exists':
          return pc !== undefined;
        case 'DoesNotExist':
          return pc === undefined;
        case 'In':
          return pc !== undefined && (r.values ?? []).includes(pc);
        case 'NotIn':
          return pc === undefined || !(r.values ?? []).includes(pc);
      }
      return false;
    }
  }
  return false;
}

// ------------------------------------------------------------ evaluators

/** `count/<resource>` name: core resources bare, others `<resource>.<group>`. */
export function objectCountName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

const legacyCounted = new Set(['configmaps', 'secrets', 'replicationcontrollers', 'resourcequotas', 'services', 'persistentvolumeclaims']);

/** Does a quota resource name concern objects of this resource? */
export function concernsResource(group: string, resource: string, name: string): boolean {
  if (group === '' && resource === 'pods') return isPodResourceName(name);
  if (name === objectCountName(group, resource)) return true;
  if (group !== '') return false;
  if (legacyCounted.has(resource) && name === resource) return true;
  if (resource === 'services') return name === 'services.nodeports' || name === 'services.loadbalancers';
  if (resource === 'persistentvolumeclaims') {
    return name === 'requests.storage' || /\.storageclass\.storage\.k8s\.io\/(requests\.storage|persistentvolumeclaims)$/.test(name);
  }
  return false;
}

/** The hard limits of a quota that concern objects of this resource. */
export function matchingResources(group: string, resource: string, names: Iterable<string>): string[] {
  return [...names].filter((n) => concernsResource(group, resource, n)).sort();
}

/** Quota usage of one object (everything it consumes, before masking by the quota's names). */
export function usageOf(group: string, resource: string, obj: KubeObject, now = Date.now()): ResourceList {
  if (group === '' && resource === 'pods') return podUsage(obj, now);
  const out: ResourceList = { [objectCountName(group, resource)]: '1' };
  if (group !== '' || !legacyCounted.has(resource)) return out;
  out[resource] = '1';
  if (resource === 'services') {
    const type = obj.spec?.type ?? 'ClusterIP';
    if (type === 'NodePort' || type === 'LoadBalancer') {
      const ports = (obj.spec?.ports ?? []).length;
      out['services.nodeports'] = String(ports);
    }
    if (type === 'LoadBalancer') out['services.loadbalancers'] = '1';
  }
  if (resource === 'persistentvolumeclaims') {
    const storage = obj.spec?.resources?.requests?.storage;
    const sc: string | undefined = obj.spec?.storageClassName || obj.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
    if (sc) out[`${sc}.storageclass.storage.k8s.io/persistentvolumeclaims`] = '1';
    if (storage !== undefined) {
      // a pending resize counts at the larger of requested and allocated
      let s = String(storage);
      const alloc = obj.status?.allocatedResources?.storage;
      if (alloc !== undefined && compareQuantities(alloc, s) > 0) s = String(alloc);
      out['requests.storage'] = s;
      if (sc) out[`${sc}.storageclass.storage.k8s.io/requests.storage`] = s;
    }
  }
  return out;
}

/**
 * Whether a quota applies to this object: it limits something the object
 * consumes (by status.hard, or spec.hard when `useSpec`) and every scope matches.
 * Scoped quotas only apply to pods.
 */
export function quotaMatches(quota: KubeObject, group: string, resource: string, obj: KubeObject, useSpec = false): boolean {
  const hard = listOf(useSpec ? quota.spec?.hard : quota.status?.hard);
  if (!matchingResources(group, resource, Object.keys(hard)).length) return false;
  const scopes = scopeRequirements(quota);
  if (!scopes.length) return true;
  if (!(group === '' && resource === 'pods')) return false;
  return scopes.every((s) => podMatchesScope(obj, s));
}

/** status.used for a quota from the objects of one resource in its namespace, masked to its names. */
export function usageForQuota(quota: KubeObject, group: string, resource: string, objs: Iterable<KubeObject>, now = Date.now()): ResourceList {
  const hard = listOf(quota.spec?.hard);
  const names = matchingResources(group, resource, Object.keys(hard));
  if (!names.length) return {};
  let used: ResourceList = {};
  for (const n of names) used[n] = '0';
  for (const o of objs) {
    if (!quotaMatches(quota, group, resource, o, true)) continue;
    used = addLists(used, maskList(usageOf(group, resource, o, now), names));
  }
  return used;
}

/** Canonical text of every quantity in a list. */
export function canonicalList(a: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) out[k] = formatQuantity(q(v));
  return out;
}
