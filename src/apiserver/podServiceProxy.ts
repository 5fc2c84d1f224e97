// The apiserver side of pods/proxy and services/proxy: resolve
// `[scheme:]name[:port]` to one pod address (a Service's port name or number →
// a ready endpoint's port from its EndpointSlices, picked at random, and only
// when the endpoint is a pod of the namespace whose IPs hold the address), then
// relay the request there — any method, query passed through, body and answer
// streamed, redirects not followed but their Location rewritten to go through
// the proxy again, and upgrades (WebSocket) carried byte for byte.
// Only pod IPs taken from Pod objects are ever dialled.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { errors, StatusError } from '../api/errors.js';
import type { KindRegistry } from '../api/registry.js';
import type { RestStore } from './rest.js';
import type { CacheEvent, WatchCache } from './watchCache.js';
import { prefixKey } from './codec.js';
import { completeUpgrade, dialUpgrade, hostPort, writeStatusError } from '../client/upgrade.js';

export interface PodServiceProxyDeps {
  store: RestStore;
  cache: WatchCache;
  registry: KindRegistry;
  log?: Logger;
}

/** Where a proxied request goes. */
export interface ProxyTarget {
  scheme: 'http' | 'https';
  ip: string;
  port: number;
}

const unavailable = (m: string) => new StatusError(503, 'ServiceUnavailable', m);
const serviceLabel = 'kubernetes.io/service-name';
const dialTimeoutMs = 30_000;
// hop-by-hop headers (RFC 9110 §7.6.1) and credentials meant for the apiserver, never passed on
const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const requestOnlyDrop = new Set(['authorization', 'host', 'impersonate-user', 'impersonate-group', 'impersonate-uid']);

/** Splits `[scheme:]name[:port]` as upstream does: two parts are name:port; a scheme must be http or https. */
export function splitSchemeNamePort(id: string): { scheme: 'http' | 'https'; name: string; port: string } | undefined {
  const p = id.split(':');
  let scheme = '';
  let name: string;
  let port = '';
  if (p.length === 1) name = p[0]!;
  else if (p.length === 2) [name, port] = p as [string, string];
  else if (p.length === 3) [scheme, name, port] = p as [string, string, string];
  else return undefined;
  if (!name || !['', 'http', 'https'].includes(scheme)) return undefined;
  return { scheme: scheme === 'https' ? 'https' : 'http', name, port };
}

/** An address a proxy may dial: a unicast IP that is not loopback, link-local or unspecified. */
export function allowedAddress(ip: string | undefined): boolean {
  if (!ip) return false;
  const v = isIP(ip);
  if (v === 4) {
    const [a, b] = ip.split('.').map(Number) as [number, number];
    return !(a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224);
  }
  if (v === 6) {
    const l = ip.toLowerCase();
    return !(l === '::' || l === '::1' || l.startsWith('fe8') || l.startsWith('fe9') || l.startsWith('fea') || l.startsWith('feb') || l.startsWith('ff') || l.startsWith('::ffff:'));
  }
  return false;
}

const podIPs = (pod: KubeObject): string[] => {
  const l: string[] = (pod.status?.podIPs ?? []).map((p: { ip: string }) => p.ip);
  if (pod.status?.podIP && !l.includes(pod.status.podIP)) l.push(pod.status.podIP);
  return l;
};

/** The port of a pods/proxy request: a number, a container port name, or (none given) the first declared container port. */
export function podPort(pod: KubeObject, port: string, scheme: 'http' | 'https'): number {
  const ports: { name?: string; containerPort: number }[] = (pod.spec?.containers ?? []).flatMap((c: { ports?: { name?: string; containerPort: number }[] }) => c.ports ?? []);
  if (port === '') return ports[0]?.containerPort ?? (scheme === 'https' ? 443 : 80);
  if (/^\d+$/.test(port)) {
    const n = Number(port);
    if (n >= 1 && n <= 65535) return n;
  } else {
    const named = ports.find((p) => p.name === port);
    if (named) return named.containerPort;
  }
  throw errors.badRequest(`invalid port ${JSON.stringify(port)} for pod ${JSON.stringify(pod.metadata?.name)}: not a port number (1-65535) nor a container port name`);
}

interface Candidate {
  ip: string;
  port: number;
  podName?: string;
  podNamespace?: string;
  kind?: string;
}

/** The path of a proxy URL: what follows `/{pods|services}/{id}/proxy`, kept as the client escaped it. */
export function splitProxyPath(pathname: string): { prefix: string; rest: string } | undefined {
  const m = /^\/api\/v1\/namespaces\/[^/]+\/(?:pods|services)\/[^/]+\/proxy(?=\/|$)/.exec(pathname);
  return m ? { prefix: m[0], rest: pathname.slice(m[0].length) } : undefined;
}

export class PodServiceProxy {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  // upstream's proxy transport does not verify backends' serving certificates either
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, rejectUnauthorized: false });
  /** EndpointSlices by `namespace/service`, kept current from the watch cache (built on first use) */
  private slices?: Map<string, Map<string, KubeObject>>;
  private unsubscribe?: () => void;

  constructor(private readonly d: PodServiceProxyDeps) {}

  close(): void {
    this.unsubscribe?.();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private def(group: string, resource: string) {
    return this.d.registry.byGVR(group, 'v1', resource)!;
  }

  private sliceIndex(): Map<string, Map<string, KubeObject>> {
    if (this.slices) return this.slices;
    const def = this.def('discovery.k8s.io', 'endpointslices');
    const sr = this.d.store.storageResource(def);
    const idx = new Map<string, Map<string, KubeObject>>();
    const svcKey = (o: KubeObject | undefined) => {
      const svc = o?.metadata?.labels?.[serviceLabel];
      return svc ? `${o!.metadata?.namespace ?? ''}/${svc}` : undefined;
    };
    const put = (key: string, o: KubeObject) => {
      const k = svcKey(o);
      if (!k) return;
      let m = idx.get(k);
      if (!m) idx.set(k, (m = new Map()));
      m.set(key, o);
    };
    const drop = (key: string, o: KubeObject | undefined) => {
      const k = svcKey(o);
      const m = k ? idx.get(k) : undefined;
      if (!m) return;
      m.delete(key);
      if (!m.size) idx.delete(k!);
    };
    // subscribe and list in the same tick: no event can fall in between
    this.unsubscribe = this.d.cache.subscribe(sr, (ev: CacheEvent) => {
      drop(ev.object.key, ev.prev?.obj);
      if (ev.type !== 'DELETED') put(ev.object.key, ev.object.obj);
    });
    for (const c of this.d.cache.list(sr, prefixKey(sr))) put(c.key, c.obj);
    return (this.slices = idx);
  }

  private cachedPod(ns: string, name: string): KubeObject | undefined {
    const def = this.def('', 'pods');
    return this.d.cache.get(this.d.store.storageResource(def), this.d.store.key(def, ns, name))?.obj;
  }

  /** pods/{[scheme:]name[:port]}/proxy: the pod's IP and port. */
  async podTarget(ns: string, id: string): Promise<ProxyTarget> {
    const s = splitSchemeNamePort(id);
    if (!s) throw errors.badRequest(`invalid pod request ${JSON.stringify(id)}`);
    const pod = await this.d.store.get(this.def('', 'pods'), ns, s.name);
    const ip = pod.status?.podIP;
    if (!ip) throw errors.badRequest(`address not allowed: pod ${JSON.stringify(s.name)} has no IP address yet`);
    if (!allowedAddress(ip)) throw errors.badRequest(`address not allowed: ${ip}`);
    return { scheme: s.scheme, ip, port: podPort(pod, s.port, s.scheme) };
  }

  /** services/{[scheme:]name[:port]}/proxy: a ready endpoint of the Service's port, at random. */
  async serviceTarget(ns: string, id: string): Promise<ProxyTarget> {
    const s = splitSchemeNamePort(id);
    if (!s) throw errors.badRequest(`invalid service request ${JSON.stringify(id)}`);
    const svc = await this.d.store.get(this.def('', 'services'), ns, s.name);
    let portName = s.port;
    const svcPorts: { name?: string; port: number }[] = svc.spec?.ports ?? [];
    // no port given and only one: that one, named or not (upstream would only match an unnamed port)
    if (portName === '' && svcPorts.length === 1) portName = svcPorts[0]!.name ?? '';
    else if (/^\d+$/.test(portName)) {
      const n = Number(portName);
      const p = svcPorts.find((x) => x.port === n);
      if (!p) throw unavailable(`no service port ${n} found for service ${JSON.stringify(s.name)}`);
      portName = p.name ?? '';
    } else if (portName !== '' && !svcPorts.some((x) => x.name === portName)) {
      throw unavailable(`no service port ${JSON.stringify(portName)} found for service ${JSON.stringify(s.name)}`);
    }
    const cands: Candidate[] = [];
    for (const sl of this.sliceIndex().get(`${ns}/${s.name}`)?.values() ?? []) {
      if (sl.addressType === 'FQDN') continue;
      const port = (sl.ports ?? []).find((p: { name?: string }) => (p.name ?? '') === portName)?.port;
      if (!port) continue;
      for (const ep of sl.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        for (const ip of ep.addresses ?? []) cands.push({ ip, port, podName: ep.targetRef?.name, podNamespace: ep.targetRef?.namespace, kind: ep.targetRef?.kind });
      }
    }
    // a random start, then the next ones, until one checks out
    const start = Math.floor(Math.random() * cands.length);
    for (let i = 0; i < cands.length; i++) {
      const c = cands[(start + i) % cands.length]!;
      if (this.validEndpoint(ns, c)) return { scheme: s.scheme, ip: c.ip, port: c.port };
    }
    throw unavailable(`no endpoints available for service ${JSON.stringify(id)}`);
  }

  /** An endpoint is proxied to only when it is a pod of this namespace that holds the address. */
  private validEndpoint(ns: string, c: Candidate): boolean {
    if (c.kind !== 'Pod' || !c.podName || (c.podNamespace ?? ns) !== ns || !allowedAddress(c.ip)) return false;
    const pod = this.cachedPod(ns, c.podName);
    if (!pod || !podIPs(pod).includes(c.ip)) {
      this.d.log?.debug({ ns, pod: c.podName, ip: c.ip }, 'endpoint address does not match its pod; skipped');
      return false;
    }
    return true;
  }

  private target(resource: string, ns: string, id: string): Promise<ProxyTarget> {
    return resource === 'pods' ? this.podTarget(ns, id) : this.serviceTarget(ns, id);
  }

  /** A plain (not upgraded) request to pods/…/proxy or services/…/proxy. */
  async serve(req: IncomingMessage, res: ServerResponse, resource: string, ns: string, id: string, url: URL): Promise<void> {
    const split = splitProxyPath(url.pathname);
    if (!split) throw errors.notFound(`${resource}/proxy`, id);
    if (split.rest === '') {
      // upstream's answer to an empty path: go to the same place with a trailing slash
      res.writeHead(301, { Location: `${url.pathname}/${url.search}`, 'Content-Length': '0' });
      res.end();
      return;
    }
    const t = await this.target(resource, ns, id);
    const headers = requestHeaders(req, split.prefix + split.rest);
    const host = hostPort(t.ip, t.port);
    headers.host = host;
    await new Promise<void>((resolve, reject) => {
      const mod = t.scheme === 'https' ? https : http;
      const up = mod.request(
        { host: t.ip, port: t.port, method: req.method, path: split.rest + url.search, headers, agent: t.scheme === 'https' ? this.httpsAgent : this.httpAgent,
          // pods' servers are not all strict (busybox httpd's CGI headers end in a bare LF); Go's client reads them too
          insecureHTTPParser: true },
        (br) => {
          const out: Record<string, string | string[]> = {};
          const connDrop = connectionTokens(br.headers.connection);
          for (const [k, v] of Object.entries(br.headers)) {
            if (v === undefined || hopByHop.has(k) || connDrop.has(k)) continue;
            out[k] = v;
          }
          if (typeof br.headers.location === 'string') out.location = rewriteLocation(br.headers.location, split.prefix, host, req.headers.host);
          res.writeHead(br.statusCode ?? 502, out);
          br.pipe(res);
          br.on('end', () => resolve());
          br.on('error', () => (res.destroy(), resolve()));
        },
      );
      up.on('socket', (sock) => {
        if (!sock.connecting) return;
        const timer = setTimeout(() => up.destroy(new Error(`dial ${host}: no connection in ${dialTimeoutMs / 1000}s`)), dialTimeoutMs);
        sock.once('connect', () => clearTimeout(timer));
        sock.once('close', () => clearTimeout(timer));
      });
      // the client went away: stop talking to the backend
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      up.on('error', (e) => {
        if (res.headersSent) return (res.destroy(), resolve());
        reject(unavailable(`error trying to reach service: ${e.message}`));
      });
      req.pipe(up);
    });
  }

  /** An upgrade (WebSocket …) to pods/…/proxy or services/…/proxy: carried byte for byte once the backend agrees. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, resource: string, ns: string, id: string, url: URL): Promise<void> {
    try {
      const split = splitProxyPath(url.pathname);
      if (!split) throw errors.notFound(`${resource}/proxy`, id);
      const t = await this.target(resource, ns, id);
      const headers = requestHeaders(req, split.prefix + (split.rest || '/'), true);
      headers.host = hostPort(t.ip, t.port);
      let r;
      try {
        r = await dialUpgrade({ url: `${t.scheme}://${hostPort(t.ip, t.port)}${split.rest || '/'}${url.search}`, method: req.method, headers, tls: { rejectUnauthorized: false }, timeoutMs: dialTimeoutMs });
      } catch (e) {
        throw unavailable(`error trying to reach service: ${(e as Error).message}`);
      }
      completeUpgrade(socket, head, r);
    } catch (e) {
      const se = e instanceof StatusError ? e : errors.internal((e as Error)?.message ?? String(e));
      if (!(e instanceof StatusError)) this.d.log?.error({ err: (e as Error)?.stack ?? String(e) }, 'pod/service proxy upgrade failed');
      writeStatusError(socket, se.code, se.reason, se.message);
    }
  }
}


const connectionTokens = (v: string | string[] | undefined): Set<string> =>
  new Set((Array.isArray(v) ? v.join(',') : v ?? '').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean));

/** The client's headers for the backend: no hop-by-hop ones (unless upgrading), no apiserver credentials; X-Forwarded-* added. */
function requestHeaders(req: IncomingMessage, forwardedUri: string, upgrading = false): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connDrop = upgrading ? new Set<string>() : connectionTokens(req.headers.connection);
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || requestOnlyDrop.has(k) || k.startsWith('impersonate-extra-') || connDrop.has(k)) continue;
    if (hopByHop.has(k) && !(upgrading && (k === 'connection' || k === 'upgrade'))) continue;
    out[k] = v;
  }
  out['x-forwarded-uri'] = forwardedUri;
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  out['x-forwarded-proto'] = 'https';
  const client = req.socket.remoteAddress;
  if (client) out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${req.headers['x-forwarded-for']}, ${client}` : client;
  return out;
}

/**
 * A backend's redirect, made to go through the proxy again: absolute paths and
 * URLs on the backend (or the apiserver) get the proxy prefix; other hosts and
 * relative references are left as they are (and are not followed).
 */
export function rewriteLocation(location: string, prefix: string, backendHost: string, apiserverHost: string | undefined): string {
  let u: URL;
  try {
    u = new URL(location, 'http://relative.invalid');
  } catch {
    return location;
  }
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(location) || location.startsWith('//');
  // host:port with the scheme's default port spelled out (URL drops :80 and :443)
  const full = `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  if (absolute && full !== backendHost && u.host !== backendHost && u.host !== apiserverHost) return location;
  if (!absolute && !location.startsWith('/')) return location;
  if (u.pathname.startsWith(prefix + '/') || u.pathname === prefix) return `${u.pathname}${u.search}${u.hash}`;
  return `${prefix}${u.pathname}${u.search}${u.hash}`;
}
