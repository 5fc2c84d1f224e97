// The endpoints of every Service, as the proxy needs them: kept per Service from
// its EndpointSlices (label kubernetes.io/service-name), updated one slice at a
// time from informer events, merged only when that Service is synced.
// kube-proxy's EndpointsChangeTracker + EndpointSliceCache, much smaller.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Protocol } from './serviceMap.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

export interface Endpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
}

type Slice = EndpointSlice & { metadata?: { namespace?: string; name?: string; labels?: Record<string, string> } };

/** `ns/service` a slice belongs to, or undefined when it names none (or is not IPv4). */
export function serviceKeyOfSlice(s: Slice): string | undefined {
  const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
  if (!svc || s.addressType !== 'IPv4') return undefined;
  return `${s.metadata?.namespace ?? ''}/${svc}`;
}

/** `portName/protocol`, how a Service port finds its slice ports */
export const portKey = (name: string, protocol: Protocol | string) => `${name}/${protocol}`;

export class EndpointsMap {
  /** service key → slice key → slice */
  private readonly byService = new Map<string, Map<string, Slice>>();
  /** slice key → the service key it was filed under */
  private readonly sliceOwner = new Map<string, string>();

  /** Records a slice (added or changed); returns the service keys whose endpoints may have changed. */
  upsert(s: Slice): string[] {
    const key = `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;
    const touched = this.remove(key);
    const svc = serviceKeyOfSlice(s);
    if (svc) {
      let m = this.byService.get(svc);
      if (!m) this.byService.set(svc, (m = new Map()));
      m.set(key, s);
      this.sliceOwner.set(key, svc);
      if (!touched.includes(svc)) touched.push(svc);
    }
    return touched;
  }

  /** Forgets a slice by its `ns/name` key; returns the service key it belonged to (if any). */
  remove(sliceKey: string): string[] {
    const svc = this.sliceOwner.get(sliceKey);
    if (!svc) return [];
    this.sliceOwner.delete(sliceKey);
    const m = this.byService.get(svc);
    m?.delete(sliceKey);
    if (m && !m.size) this.byService.delete(svc);
    return [svc];
  }

  /** All endpoints of a service, per `portName/protocol`, de-duplicated and sorted (stable rules). */
  endpointsOf(svcKey: string): Map<string, Endpoint[]> {
    const out = new Map<string, Map<string, Endpoint>>();
    for (const s of this.byService.get(svcKey)?.values() ?? []) {
      for (const p of s.ports ?? []) {
        if (p.port == null) continue;
        const pk = portKey(p.name ?? '', p.protocol ?? 'TCP');
        let eps = out.get(pk);
        if (!eps) out.set(pk, (eps = new Map()));
        for (const e of s.endpoints ?? []) {
          const ip = e.addresses?.[0];
          if (!ip) continue;
          const c = e.conditions ?? {};
          // upstream: ready nil = ready; serving nil = ready; terminating nil = false
          const ready = c.ready ?? true;
          const ep: Endpoint = { ip, port: p.port, ready, serving: c.serving ?? ready, terminating: c.terminating ?? false, nodeName: e.nodeName };
          const id = `${ip}:${p.port}`;
          const prev = eps.get(id);
          // the same address in two slices (during a move): the more usable one wins
          if (!prev || (ep.ready && !prev.ready)) eps.set(id, ep);
        }
      }
    }
    const result = new Map<string, Endpoint[]>();
    for (const [pk, eps] of out) result.set(pk, [...eps.values()].sort(compareEndpoints));
    return result;
  }

  get serviceCount(): number {
    return this.byService.size;
  }
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const ai = ipNum(a.ip);
  const bi = ipNum(b.ip);
  return ai !== bi ? ai - bi : a.port - b.port;
}

function ipNum(ip: string): number {
  let n = 0;
  for (const o of ip.split('.')) n = n * 256 + (Number(o) || 0);
  return n;
}

/**
 * The endpoints traffic may go to: ready ones; when none is ready, the ones still
 * serving while terminating (upstream's fallback, so a rolling update of the last
 * pod drops nothing). `nodeName` restricts to this node's endpoints (Local policies).
 */
export function usableEndpoints(eps: Endpoint[], nodeName?: string): Endpoint[] {
  const pool = nodeName === undefined ? eps : eps.filter((e) => e.nodeName === nodeName);
  const ready = pool.filter((e) => e.ready);
  if (ready.length) return ready;
  return pool.filter((e) => e.serving && e.terminating);
}
