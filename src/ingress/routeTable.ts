// The route table: every handled Ingress compiled into virtual hosts and paths,
// built once per change and swapped whole, so a request does a few map lookups.
// Matching follows the Ingress spec: exact host, then `*.suffix` (exactly one
// label), then rules without a host; Exact paths before Prefix paths, Prefix
// element-wise with the longest match winning (ImplementationSpecific = Prefix);
// when two Ingresses claim the same host+path, the oldest wins.
import type { Ingress, IngressBackend } from 'kubernetes-types/networking/v1.js';
import { parseAnnotations, type AnnotationProblem, type RouteOptions } from './annotations.js';

export interface Route {
  /** `namespace/name` of the Ingress that defined it */
  ingress: string;
  /** vhost as written ('' = any host); for logs and metrics labels */
  host: string;
  /** path as written ('' for default backends) */
  path: string;
  pathType: 'Exact' | 'Prefix' | 'ImplementationSpecific' | 'Default';
  /** set when the host is in regex mode (use-regex / rewrite-target) */
  regex?: RegExp;
  /** upstream key: `namespace/service:port` (port number or name) */
  backend: string;
  options: RouteOptions;
  /** per-route cache the data plane fills (metrics children); never part of matching */
  cache?: Record<string, unknown>;
}

export interface VirtualHost {
  host: string;
  exact: Map<string, Route>;
  /** normalized prefix (no trailing slash, except "/") → route */
  prefix: Map<string, Route>;
  /** regex mode: non-Exact routes, longest path first */
  regex?: Route[];
  /** the defaultBackend of the oldest Ingress that has rules for this host */
  defaultRoute?: Route;
  /** listed in some handled Ingress's spec.tls */
  tls: boolean;
}

export interface TlsEntry {
  /** host or `*.suffix` */
  host: string;
  /** `namespace/secretName`; undefined = the fallback certificate */
  secret?: string;
}

export interface RouteTable {
  hosts: Map<string, VirtualHost>;
  /** `*.myapp.com` rules keyed by `myapp.com` */
  wildcards: Map<string, VirtualHost>;
  /** rules without a host */
  anyHost?: VirtualHost;
  /** the controller-wide default: the oldest Ingress defaultBackend, else default-http-backend */
  defaultRoute?: Route;
  tls: TlsEntry[];
  /** every upstream key a route uses */
  backends: Set<string>;
  /** what was ignored and why (conflicts, bad annotations) */
  problems: { ingress: string; message: string }[];
}

export interface BuildOptions {
  /** the upstream key of a `default-http-backend` Service, if there is one */
  defaultHttpBackend?: string;
}

const defaultOptions = parseAnnotations(undefined).options;

export function backendKey(namespace: string, b: IngressBackend | undefined): string | undefined {
  const svc = b?.service;
  if (!svc?.name) return undefined;
  const port = svc.port?.number ?? svc.port?.name;
  if (port === undefined) return undefined;
  return `${namespace}/${svc.name}:${port}`;
}

/** `/foo/` → `/foo`; `/` stays. */
export function normalizePrefix(p: string): string {
  let s = p || '/';
  while (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1);
  return s;
}

/** Oldest first (creationTimestamp, then namespace/name): the order in which conflicts are won. */
export function byAge(a: Ingress, b: Ingress): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata?.namespace}/${a.metadata?.name}`;
  const kb = `${b.metadata?.namespace}/${b.metadata?.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function newHost(host: string): VirtualHost {
  return { host, exact: new Map(), prefix: new Map(), tls: false };
}

/** Compile the Ingresses this controller handles into a route table. */
export function buildRouteTable(ingresses: Ingress[], opts: BuildOptions = {}): RouteTable {
  const t: RouteTable = { hosts: new Map(), wildcards: new Map(), tls: [], backends: new Set(), problems: [] };
  const regexHosts = new Set<VirtualHost>();
  const vhost = (host: string): VirtualHost => {
    if (!host) return (t.anyHost ??= newHost(''));
    const wild = host.startsWith('*.');
    const map = wild ? t.wildcards : t.hosts;
    const key = wild ? host.slice(2) : host;
    let vh = map.get(key);
    if (!vh) map.set(key, (vh = newHost(host)));
    return vh;
  };
  const tlsSeen = new Set<string>();
  for (const ing of [...ingresses].sort(byAge)) {
    const ns = ing.metadata?.namespace ?? 'default';
    const id = `${ns}/${ing.metadata?.name}`;
    const { options, problems } = parseAnnotations(ing.metadata?.annotations);
    for (const p of problems) t.problems.push({ ingress: id, message: `${p.annotation}: ${p.message}` });
    const route = (host: string, path: string, pathType: Route['pathType'], backend: IngressBackend | undefined): Route | undefined => {
      const key = backendKey(ns, backend);
      if (!key) {
        t.problems.push({ ingress: id, message: `${host || '*'}${path}: only service backends are supported` });
        return undefined;
      }
      t.backends.add(key);
      return { ingress: id, host, path, pathType, backend: key, options };
    };
    const def = ing.spec?.defaultBackend ? route('', '', 'Default', ing.spec.defaultBackend) : undefined;
    if (def && !t.defaultRoute) t.defaultRoute = def;
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? '').toLowerCase();
      const vh = vhost(host);
      if (def && !vh.defaultRoute) vh.defaultRoute = { ...def, host };
      for (const p of rule.http?.paths ?? []) {
        const pathType = (p.pathType ?? 'ImplementationSpecific') as Route['pathType'];
        const path = p.path || '/';
        const r = route(host, path, pathType, p.backend);
        if (!r) continue;
        if (options.useRegex) regexHosts.add(vh);
        const map = pathType === 'Exact' ? vh.exact : vh.prefix;
        const k = pathType === 'Exact' ? path : normalizePrefix(path);
        const had = map.get(k);
        if (had) {
          if (had.ingress !== id) t.problems.push({ ingress: id, message: `${host || '*'}${path} (${pathType}) is already routed by ${had.ingress}; the older Ingress wins` });
          continue;
        }
        map.set(k, r);
      }
    }
    for (const tls of ing.spec?.tls ?? []) {
      for (const h of tls.hosts ?? []) {
        const host = h.toLowerCase();
        if (tlsSeen.has(host)) continue;
        tlsSeen.add(host);
        t.tls.push({ host, secret: tls.secretName ? `${ns}/${tls.secretName}` : undefined });
      }
    }
  }
  // regex mode is per host (as in ingress-nginx): every non-Exact path of the host becomes `^path`, case-insensitive, longest first
  for (const vh of regexHosts) {
    const list: Route[] = [];
    for (const r of vh.prefix.values()) {
      try {
        r.regex = new RegExp(`^${r.path}`, 'i');
        list.push(r);
      } catch (e) {
        t.problems.push({ ingress: r.ingress, message: `path ${JSON.stringify(r.path)} is not a valid regular expression: ${(e as Error).message}` });
      }
    }
    vh.regex = list.sort((a, b) => b.path.length - a.path.length);
  }
  for (const e of t.tls) {
    const vh = e.host.startsWith('*.') ? t.wildcards.get(e.host.slice(2)) : t.hosts.get(e.host);
    if (vh) vh.tls = true;
    // a wildcard certificate covers the hosts under it
    if (e.host.startsWith('*.')) for (const [h, v] of t.hosts) if (h.endsWith(e.host.slice(1)) && !h.slice(0, -e.host.length + 1).includes('.')) v.tls = true;
  }
  if (!t.defaultRoute && opts.defaultHttpBackend) {
    t.defaultRoute = { ingress: '', host: '', path: '', pathType: 'Default', backend: opts.defaultHttpBackend, options: defaultOptions };
    t.backends.add(opts.defaultHttpBackend);
  }
  return t;
}

/** The virtual host for a request's Host (lower-case, without port). */
export function matchHost(t: RouteTable, host: string): VirtualHost | undefined {
  const vh = t.hosts.get(host);
  if (vh) return vh;
  const dot = host.indexOf('.');
  if (dot > 0) {
    const w = t.wildcards.get(host.slice(dot + 1));
    if (w) return w;
  }
  return t.anyHost;
}

/** The route for a path (no query) within a virtual host, not counting default backends. */
export function matchPath(vh: VirtualHost, path: string): Route | undefined {
  const ex = vh.exact.get(path);
  if (ex) return ex;
  if (vh.regex) {
    for (const r of vh.regex) if (r.regex!.test(path)) return r;
    return undefined;
  }
  if (vh.prefix.size === 0) return undefined;
  // walk the path's element boundaries from longest to shortest: /a/b/c, /a/b, /a, /
  let c = normalizePrefix(path);
  for (;;) {
    const r = vh.prefix.get(c);
    if (r) return r;
    if (c === '/') return undefined;
    const i = c.lastIndexOf('/');
    c = i <= 0 ? '/' : c.slice(0, i);
  }
}

/** Host + path → route (falls back to the host's, then the controller's default backend). */
export function matchRoute(t: RouteTable, host: string, path: string): { vh?: VirtualHost; route?: Route } {
  const vh = matchHost(t, host);
  if (!vh) return { route: t.defaultRoute };
  return { vh, route: matchPath(vh, path) ?? vh.defaultRoute ?? t.defaultRoute };
}

/** rewrite-target: the new path (query kept), with `$n` from the route's regex. */
export function rewritePath(route: Route, path: string, query: string): string {
  const target = route.options.rewriteTarget;
  if (target === undefined) return path + query;
  const m = route.regex?.exec(path);
  const out = target.replace(/\$(\d)/g, (_, n: string) => m?.[Number(n)] ?? '');
  return (out.startsWith('/') ? out : `/${out}`) + (out.includes('?') ? query.replace(/^\?/, '&') : query);
}
