// A container's environment as the kubelet builds it: Service links, then
// envFrom, then env (later entries win), with $(VAR) expansion in values and
// in command/args. A missing required ConfigMap/Secret (or key) is a
// CreateContainerConfigError: the container is not created until it appears.
import type { Container, EnvVar, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../api/kind.js';
import { parseQuantity, scaledValue, toMillis } from '../api/quantity.js';

/** The container cannot be configured yet (reason CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

export interface EnvSources {
  configMap(namespace: string, name: string): Promise<KubeObject | undefined>;
  secret(namespace: string, name: string): Promise<KubeObject | undefined>;
}

export interface EnvContext {
  nodeName: string;
  hostIP: string;
  podIP: string;
  podIPs?: string[];
  /** node allocatable, used by resourceFieldRef when a limit is not set */
  allocatable?: Record<string, string>;
  /** Service link variables (see serviceEnv) */
  serviceEnv?: Record<string, string>;
}

/** `$(VAR)` → value when VAR is defined; `$$` → `$`; anything else unchanged. */
export function expand(s: string, vars: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '$' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[i + 1];
    if (n === '$') {
      out += '$';
      i++;
    } else if (n === '(') {
      const end = s.indexOf(')', i + 2);
      if (end < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, end);
      out += vars.has(name) ? vars.get(name)! : s.slice(i, end + 1);
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

const decode = (secret: KubeObject, key: string): string | undefined => {
  const v = secret.data?.[key];
  if (typeof v === 'string') return Buffer.from(v, 'base64').toString('utf8');
  const s = secret.stringData?.[key];
  return typeof s === 'string' ? s : undefined;
};

/** Docker-link style variables for Services (upstream's enableServiceLinks). */
export function serviceEnv(services: KubeObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const svc of services) {
    const ip: string | undefined = svc.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const ports: KubeObject[] = svc.spec?.ports ?? [];
    if (!ports.length) continue;
    const base = String(svc.metadata?.name ?? '').toUpperCase().replace(/-/g, '_');
    env[`${base}_SERVICE_HOST`] = ip;
    env[`${base}_SERVICE_PORT`] = String(ports[0].port);
    for (const p of ports) if (p.name) env[`${base}_SERVICE_PORT_${String(p.name).toUpperCase().replace(/-/g, '_')}`] = String(p.port);
    const proto0 = String(ports[0].protocol ?? 'TCP').toLowerCase();
    env[`${base}_PORT`] = `${proto0}://${ip}:${ports[0].port}`;
    for (const p of ports) {
      const proto = String(p.protocol ?? 'TCP');
      const pre = `${base}_PORT_${p.port}_${proto}`;
      env[pre] = `${proto.toLowerCase()}://${ip}:${p.port}`;
      env[`${pre}_PROTO`] = proto.toLowerCase();
      env[`${pre}_PORT`] = String(p.port);
      env[`${pre}_ADDR`] = ip;
    }
  }
  return env;
}

function fieldRefValue(pod: Pod, path: string, ctx: EnvContext): string {
  const m = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) return (sub[1] === 'labels' ? m.labels : m.annotations)?.[sub[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? '';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'metadata.labels':
      return Object.entries(m.labels ?? {}).sort().map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations':
      return Object.entries(m.annotations ?? {}).sort().map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? ctx.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return ctx.hostIP;
    case 'status.hostIPs':
      return ctx.hostIP;
    case 'status.podIP':
      return ctx.podIP;
    case 'status.podIPs':
      return (ctx.podIPs ?? [ctx.podIP]).filter(Boolean).join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldRef ${path}`);
  }
}

/** resourceFieldRef: the limit (falling back to node allocatable) or request, in divisor units, rounded up. */
export function resourceFieldValue(pod: Pod, container: Container | undefined, resource: string, divisor: string | undefined, ctx: EnvContext): string {
  if (!container) throw new ContainerConfigError(`resourceFieldRef ${resource}: no such container`);
  const [kind, name] = resource.split('.') as ['limits' | 'requests', string];
  let q: string | number | undefined = (container.resources?.[kind] as Record<string, string> | undefined)?.[name];
  if (q === undefined && kind === 'limits') q = ctx.allocatable?.[name];
  if (q === undefined && kind === 'requests') q = name === 'cpu' || name === 'memory' ? 0 : undefined;
  if (q === undefined) q = 0;
  const d = divisor ?? (name === 'cpu' ? '1' : '1');
  if (name === 'cpu') {
    const milli = toMillis(q);
    const dm = toMillis(d) || 1000;
    return String(Math.max(kind === 'limits' ? 1 : 0, Math.ceil(milli / dm)));
  }
  const v = scaledValue(parseQuantity(q), 0);
  const dv = scaledValue(parseQuantity(d), 0) || 1n;
  return String((v + dv - 1n) / dv);
}

/** Builds the container's environment; throws ContainerConfigError. */
export async function containerEnv(pod: Pod, container: Container, src: EnvSources, ctx: EnvContext): Promise<{ key: string; value: string }[]> {
  const ns = pod.metadata?.namespace ?? 'default';
  const vars = new Map<string, string>();
  if (pod.spec?.enableServiceLinks !== false) for (const [k, v] of Object.entries(ctx.serviceEnv ?? {})) vars.set(k, v);
  else for (const [k, v] of Object.entries(ctx.serviceEnv ?? {})) if (k.startsWith('KUBERNETES_')) vars.set(k, v);

  const cmCache = new Map<string, KubeObject | undefined>();
  const secCache = new Map<string, KubeObject | undefined>();
  const cm = async (name: string) => (cmCache.has(name) ? cmCache.get(name) : (cmCache.set(name, await src.configMap(ns, name)), cmCache.get(name)));
  const sec = async (name: string) => (secCache.has(name) ? secCache.get(name) : (secCache.set(name, await src.secret(ns, name)), secCache.get(name)));

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const obj = await cm(from.configMapRef.name ?? '');
      if (!obj) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries({ ...(obj.binaryData ?? {}), ...(obj.data ?? {}) })) vars.set(prefix + k, String(v));
    } else if (from.secretRef) {
      const obj = await sec(from.secretRef.name ?? '');
      if (!obj) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const k of Object.keys(obj.data ?? {})) vars.set(prefix + k, decode(obj, k) ?? '');
    }
  }

  for (const e of (container.env ?? []) as EnvVar[]) {
    if (e.valueFrom === undefined) {
      vars.set(e.name, expand(e.value ?? '', vars));
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) {
      vars.set(e.name, fieldRefValue(pod, vf.fieldRef.fieldPath, ctx));
    } else if (vf.resourceFieldRef) {
      const target = vf.resourceFieldRef.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c) => c.name === vf.resourceFieldRef!.containerName) : container;
      vars.set(e.name, resourceFieldValue(pod, target, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor as string | undefined, ctx));
    } else if (vf.configMapKeyRef) {
      const r = vf.configMapKeyRef;
      const obj = await cm(r.name ?? '');
      const v = obj?.data?.[r.key] ?? (obj?.binaryData?.[r.key] !== undefined ? Buffer.from(obj.binaryData[r.key], 'base64').toString() : undefined);
      if (v === undefined) {
        if (r.optional) continue;
        throw new ContainerConfigError(obj ? `couldn't find key ${r.key} in ConfigMap ${ns}/${r.name}` : `configmap "${r.name}" not found`);
      }
      vars.set(e.name, String(v));
    } else if (vf.secretKeyRef) {
      const r = vf.secretKeyRef;
      const obj = await sec(r.name ?? '');
      const v = obj ? decode(obj, r.key) : undefined;
      if (v === undefined) {
        if (r.optional) continue;
        throw new ContainerConfigError(obj ? `couldn't find key ${r.key} in Secret ${ns}/${r.name}` : `secret "${r.name}" not found`);
      }
      vars.set(e.name, v);
    }
  }
  return [...vars].map(([key, value]) => ({ key, value }));
}

/** command and args with $(VAR) expanded from the container's environment. */
export function expandCommand(container: Container, envs: { key: string; value: string }[]): { command?: string[]; args?: string[] } {
  const vars = new Map(envs.map((e) => [e.key, e.value]));
  return {
    command: container.command?.map((s) => expand(s, vars)),
    args: container.args?.map((s) => expand(s, vars)),
  };
}
