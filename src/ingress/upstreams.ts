// Upstreams: a route's backend (`namespace/service:port`) resolved through the
// Service's ports to the ready endpoints of its EndpointSlices (pod IP +
// targetPort). Traffic goes straight to pods, not through the Service VIP.
// Picking is round-robin, or sticky by cookie (affinity: cookie).
import { createHash } from 'node:crypto';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';

export interface Endpoint {
  ip: string;
  port: number;
  /** `ip:port`, `[ip]:port` for IPv6 */
  address: string;
  /** the affinity cookie's value for this endpoint */
  cookie: string;
}

/** One backend's endpoints; the object stays the same across updates (the round-robin position survives). */
export class Upstream {
  endpoints: Endpoint[] = [];
  /** why there are none (for the 503 log line) */
  reason = '';
  private next = 0;
  private byCookie = new Map<string, Endpoint>();

  constructor(public readonly key: string) {}

  set(endpoints: Endpoint[], reason = ''): void {
    this.endpoints = endpoints;
    this.reason = endpoints.length ? '' : reason;
    this.byCookie = new Map(endpoints.map((e) => [e.cookie, e]));
  }

  /** Round-robin, skipping endpoints in `exclude` (already failed for this request). */
  pick(exclude?: Endpoint[]): Endpoint | undefined {
    const list = this.endpoints;
    const n = list.length;
    for (let i = 0; i < n; i++) {
      const e = list[this.next++ % n];
      if (this.next >= 1 << 30) this.next = 0;
      if (!exclude || !exclude.includes(e)) return e;
    }
    return undefined;
  }

  byAffinity(cookie: string | undefined): Endpoint | undefined {
    return cookie ? this.byCookie.get(cookie) : undefined;
  }
}

export function endpointCookie(address: string): string {
  return createHash('sha1').update(address).digest('hex').slice(0, 16);
}

function endpoint(ip: string, port: number): Endpoint {
  const address = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  return { ip, port, address, cookie: endpointCookie(address) };
}

/** Parse `namespace/service:port`. */
export function parseBackendKey(key: string): { namespace: string; service: string; port: string } {
  const slash = key.indexOf('/');
  const colon = key.lastIndexOf(':');
  return { namespace: key.slice(0, slash), service: key.slice(slash + 1, colon), port: key.slice(colon + 1) };
}

/**
 * The endpoints of one backend. Ready endpoints; when none is ready, serving
 * endpoints that are terminating (as kube-proxy falls back), so a rolling update's
 * last old pod still answers until its replacement is ready.
 */
export function resolveEndpoints(key: string, service: Service | undefined, slices: EndpointSlice[]): { endpoints: Endpoint[]; reason: string } {
  if (!service) return { endpoints: [], reason: `service ${key.replace(/:[^:]*$/, '')} not found` };
  const { port } = parseBackendKey(key);
  const asNumber = /^\d+$/.test(port) ? Number(port) : undefined;
  const sp = (service.spec?.ports ?? []).find((p) => (asNumber !== undefined ? p.port === asNumber : p.name === port));
  if (!sp) return { endpoints: [], reason: `service ${key.replace(/:[^:]*$/, '')} has no port ${port}` };
  const portName = sp.name ?? '';
  const ready: Endpoint[] = [];
  const terminating: Endpoint[] = [];
  const seen = new Set<string>();
  for (const s of slices) {
    if (s.addressType === 'FQDN') continue;
    const p = (s.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === 'TCP');
    if (!p?.port) continue;
    for (const ep of s.endpoints ?? []) {
      const c = ep.conditions ?? {};
      const isReady = c.ready !== false;
      const isServing = (c.serving ?? c.ready) !== false;
      for (const ip of ep.addresses ?? []) {
        const e = endpoint(ip, p.port);
        if (seen.has(e.address)) continue;
        seen.add(e.address);
        if (isReady) ready.push(e);
        else if (isServing && c.terminating) terminating.push(e);
      }
    }
  }
  // a stable order: the round-robin is fair and the affinity cookie means the same pod on every rebuild
  const list = (ready.length ? ready : terminating).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { endpoints: list, reason: list.length ? '' : `no ready endpoints for ${key}` };
}
