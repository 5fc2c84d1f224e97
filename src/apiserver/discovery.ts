// Discovery documents: aggregated (apidiscovery.k8s.io/v2, what kubectl asks for
// first) and the legacy per-group-version lists. Built once; served as bytes.
import { createHash } from 'node:crypto';
import type { KindDefinition } from '../api/kind.js';
import { allVerbs } from '../api/kind.js';
import type { KindRegistry } from '../api/registry.js';

export const aggregatedContentType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

function subresourceVerbs(sub: string): string[] {
  switch (sub) {
    case 'status':
    case 'scale':
      return ['get', 'patch', 'update'];
    case 'binding':
    case 'eviction':
    case 'token':
      return ['create'];
    case 'finalize':
    case 'approval':
      return ['update'];
    case 'ephemeralcontainers':
      return ['get', 'patch', 'update'];
    case 'log':
      return ['get'];
    case 'exec':
    case 'attach':
    case 'portforward':
      return ['create', 'get'];
    case 'proxy':
      return ['create', 'delete', 'get', 'patch', 'update'];
    default:
      return ['get'];
  }
}

function subresourcesOf(def: KindDefinition): string[] {
  const subs = [...(def.subresources ?? [])];
  if (def.statusSubresource) subs.push('status');
  if (def.scale) subs.push('scale');
  return [...new Set(subs)].sort();
}

function subresourceKind(def: KindDefinition, sub: string): { group: string; version: string; kind: string } {
  if (sub === 'scale') return { group: 'autoscaling', version: 'v1', kind: 'Scale' };
  if (sub === 'binding') return { group: '', version: 'v1', kind: 'Binding' };
  if (sub === 'eviction') return { group: 'policy', version: 'v1', kind: 'Eviction' };
  if (sub === 'token') return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
  return { group: def.group, version: def.version, kind: def.kind };
}

function storageVersionHash(def: KindDefinition): string {
  return createHash('sha256').update(`${def.group}/${def.version}/${def.kind}`).digest('base64').slice(0, 11);
}

export class Discovery {
  readonly aggregatedApi: Buffer;
  readonly aggregatedApis: Buffer;
  readonly apiVersions: Buffer;
  readonly apiGroupList: Buffer;
  private readonly groupDocs = new Map<string, Buffer>();
  private readonly resourceLists = new Map<string, Buffer>();
  readonly etagApi: string;
  readonly etagApis: string;

  constructor(registry: KindRegistry, serverAddress: string) {
    const groups = registry.groups();
    const core = groups.filter((g) => g.group === '');
    const named = groups.filter((g) => g.group !== '');
    const aggItem = (g: (typeof groups)[number]) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        resources: registry
          .resourcesOf(g.group, v)
          .sort((a, b) => a.resource.localeCompare(b.resource))
          .map((def) => {
            const r: Record<string, unknown> = {
              resource: def.resource,
              responseKind: { group: def.group, version: def.version, kind: def.kind },
              scope: def.namespaced ? 'Namespaced' : 'Cluster',
              singularResource: def.singular ?? def.kind.toLowerCase(),
              verbs: [...(def.verbs ?? allVerbs)].sort(),
            };
            if (def.shortNames?.length) r.shortNames = def.shortNames;
            if (def.categories?.length) r.categories = def.categories;
            const subs = subresourcesOf(def);
            if (subs.length) {
              r.subresources = subs.map((s) => ({ subresource: s, responseKind: subresourceKind(def, s), verbs: subresourceVerbs(s) }));
            }
            return r;
          }),
        freshness: 'Current',
      })),
    });
    const agg = (gs: typeof groups) => Buffer.from(JSON.stringify({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items: gs.map(aggItem) }));
    this.aggregatedApi = agg(core);
    this.aggregatedApis = agg(named);
    this.etagApi = `"${createHash('sha256').update(this.aggregatedApi).digest('hex').slice(0, 32)}"`;
    this.etagApis = `"${createHash('sha256').update(this.aggregatedApis).digest('hex').slice(0, 32)}"`;
    const cidrs = [{ clientCIDR: '0.0.0.0/0', serverAddress }];
    this.apiVersions = Buffer.from(JSON.stringify({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: cidrs }));
    const groupDoc = (g: (typeof groups)[number]) => ({
      name: g.group,
      versions: g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${g.group}/${g.preferredVersion}`, version: g.preferredVersion },
    });
    this.apiGroupList = Buffer.from(JSON.stringify({ kind: 'APIGroupList', apiVersion: 'v1', groups: named.map(groupDoc) }));
    for (const g of named) this.groupDocs.set(g.group, Buffer.from(JSON.stringify({ kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(g) })));
    for (const g of groups) {
      for (const v of g.versions) {
        const gv = g.group ? `${g.group}/${v}` : v;
        const resources: Record<string, unknown>[] = [];
        for (const def of registry.resourcesOf(g.group, v).sort((a, b) => a.resource.localeCompare(b.resource))) {
          const r: Record<string, unknown> = {
            name: def.resource,
            singularName: def.singular ?? def.kind.toLowerCase(),
            namespaced: def.namespaced,
            kind: def.kind,
            verbs: def.verbs ?? allVerbs,
          };
          if (def.shortNames?.length) r.shortNames = def.shortNames;
          if (def.categories?.length) r.categories = def.categories;
          r.storageVersionHash = storageVersionHash(def);
          resources.push(r);
          for (const s of subresourcesOf(def)) {
            const k = subresourceKind(def, s);
            resources.push({ name: `${def.resource}/${s}`, singularName: '', namespaced: def.namespaced, ...(k.group !== def.group || k.version !== def.version ? { group: k.group, version: k.version } : {}), kind: k.kind, verbs: subresourceVerbs(s) });
          }
        }
        this.resourceLists.set(gv, Buffer.from(JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources })));
      }
    }
  }

  group(name: string): Buffer | undefined {
    return this.groupDocs.get(name);
  }

  resourceList(groupVersion: string): Buffer | undefined {
    return this.resourceLists.get(groupVersion);
  }
}
