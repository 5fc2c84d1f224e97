// Index of served kinds: by group/version/resource and by group/version/kind.
import { apiVersionOf, type KindDefinition } from './kind.js';

export interface GroupInfo {
  group: string;
  versions: string[];
  preferredVersion: string;
}

// Upstream's preferred versions where a group serves more than one.
const preferred: Record<string, string> = { autoscaling: 'v2' };

export class KindRegistry {
  private readonly byResource = new Map<string, KindDefinition>();
  private readonly byKind = new Map<string, KindDefinition>();
  private readonly groupList: GroupInfo[] = [];

  constructor(public readonly kinds: KindDefinition[]) {
    for (const def of kinds) this.add(def);
  }

  add(def: KindDefinition): void {
    this.byResource.set(`${def.group}/${def.version}/${def.resource}`, def);
    this.byKind.set(`${def.group}/${def.version}/${def.kind}`, def);
    if (!this.kinds.includes(def)) this.kinds.push(def);
    let g = this.groupList.find((x) => x.group === def.group);
    if (!g) {
      g = { group: def.group, versions: [], preferredVersion: def.version };
      this.groupList.push(g);
    }
    if (!g.versions.includes(def.version)) {
      g.versions.push(def.version);
      // newest first, like upstream's discovery
      g.versions.sort((a, b) => versionPriority(b) - versionPriority(a));
    }
    g.preferredVersion = preferred[def.group] && g.versions.includes(preferred[def.group]) ? preferred[def.group] : g.versions[0];
  }

  byGVR(group: string, version: string, resource: string): KindDefinition | undefined {
    return this.byResource.get(`${group}/${version}/${resource}`);
  }

  byGVK(group: string, version: string, kind: string): KindDefinition | undefined {
    return this.byKind.get(`${group}/${version}/${kind}`);
  }

  /** The definition for an apiVersion + kind pair as written in an object. */
  forObject(apiVersion: string, kind: string): KindDefinition | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    return this.byGVK(group, version, kind);
  }

  groups(): GroupInfo[] {
    return this.groupList;
  }

  resourcesOf(group: string, version: string): KindDefinition[] {
    return this.kinds.filter((k) => k.group === group && k.version === version);
  }

  /** Storage-level resource name (shared by versions that convert). */
  static storageResource(def: KindDefinition): string {
    return def.storageResource ?? def.resource;
  }

  static apiVersion = apiVersionOf;
}

/** Kubernetes version ordering: v2 > v1 > v1beta2 > v1beta1 > v1alpha1. */
export function versionPriority(v: string): number {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return 0;
  const major = Number(m[1]);
  const stage = m[2] === 'alpha' ? 1 : m[2] === 'beta' ? 2 : 3;
  const minor = m[3] ? Number(m[3]) : 0;
  return major * 10000 + stage * 1000 + minor;
}
