// The nginx data plane's configuration (`--ingress-data-plane nginx`): a pure
// function from the controller's compiled state — the same route table,
// upstream endpoints and TLS Secrets the Node data plane and its workers get —
// to an nginx.conf text plus the certificate files it names. Matching follows
// routeTable.ts: exact server_name, `*.x` as the one-label regex
// `~^[^.]+\.x$`, host-less rules in the default server; Exact = `location =`,
// Prefix /foo = `location = /foo` + `location ^~ /foo/` (element-wise; nginx
// picks the longest prefix); regex hosts (use-regex / rewrite-target) =
// `location ~* ^path`, longest first; a fallback `location /` per server
// answers with the host's or the controller's default backend, else 404.
// Certificates are chosen per handshake from a `map $ssl_server_name` to one
// PEM file per Secret (cert + key in one file, so a rotation is one atomic
// rename and needs no reload). Every user-written string is quoted and escaped;
// names that cannot be expressed safely are reported and left out.
import { createSecureContext } from 'node:tls';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { Route, RouteTable, VirtualHost } from '../routeTable.js';
import type { Endpoint } from '../upstreams.js';
import type { KeyPair } from '../certificates.js';
import { errorPage } from '../errorPages.js';

export interface NginxState {
  table: RouteTable;
  /** backend key → ready endpoints (what the controller resolved) */
  upstreams: Map<string, Endpoint[]>;
  /** the TLS Secrets spec.tls names, by `namespace/name` */
  secrets: Map<string, Secret>;
}

export interface NginxOptions {
  /** nginx's prefix directory (absolute): certificates, temp files and the pid file live under it */
  dir: string;
  bind: string;
  httpPort: number;
  httpsPort: number;
  /** the certificate for unknown SNI */
  fallback: KeyPair;
  /** worker_processes (default 1) */
  workers?: number | 'auto';
  /** access log: false = off, true = stderr, a string = that file */
  accessLog: boolean | string;
  /** `user` for the workers (they read the certificate files per handshake); omitted when undefined */
  user?: string;
  /** keep-alive connections per upstream per worker (default 64) */
  keepalive?: number;
}

export interface NginxConfig {
  conf: string;
  /** files to write under dir (relative path → content; certificates, mode 0600) */
  files: Map<string, string>;
  problems: string[];
}

const errorStatuses = [403, 404, 413, 502, 503, 504];

/** An nginx quoted string: `"` and `\` escaped; control characters (which no path, host or annotation needs) refused. */
export function quote(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(s)) throw new Error(`control characters are not allowed: ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A page body for `return N "…"` (nginx turns `\r` and `\n` back into line breaks). */
function quotePage(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
}

const hostRe = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const cookieRe = /^[A-Za-z0-9_]+$/;
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `*.myapp.com` → `~^[^.]+\.myapp\.com$` (one label, as the Ingress spec says; nginx's own `*.` would match several). */
export function serverName(host: string): string {
  return host.startsWith('*.') ? `"~^[^.]+\\\\.${escapeRegex(host.slice(2)).replace(/\\/g, '\\\\')}$"` : host;
}

function listenAddr(bind: string, port: number): string {
  return bind.includes(':') ? `[${bind}]:${port}` : `${bind}:${port}`;
}

/** A Secret's PEM (certificate chain + key), or why it cannot be served. */
function secretPem(secret: Secret | undefined): { pem?: string; error?: string } {
  if (!secret) return { error: 'not found' };
  const cert = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString();
  const key = Buffer.from(secret.data?.['tls.key'] ?? '', 'base64').toString();
  if (!cert || !key) return { error: 'tls.crt and tls.key are required' };
  try {
    createSecureContext({ cert, key }); // the key must match the certificate, as the Node data plane checks
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { pem: `${cert.trimEnd()}\n${key.trimEnd()}\n` };
}

export function renderNginxConfig(state: NginxState, o: NginxOptions): NginxConfig {
  const t = state.table;
  const problems: string[] = [];
  const files = new Map<string, string>();
  const dir = o.dir.replace(/\/+$/, '');
  const keepalive = o.keepalive ?? 64;
  const out: string[] = [];
  const line = (indent: number, s: string) => out.push('  '.repeat(indent) + s);

  // certificates: one PEM per Secret; SNI → file by a map (exact names first, then the one-label regexes)
  files.set('certs/fallback.pem', `${o.fallback.cert.trimEnd()}\n${o.fallback.key.trimEnd()}\n`);
  const certMap: string[] = [];
  const pemOf = new Map<string, string | undefined>();
  for (const e of t.tls) {
    if (!e.secret) continue; // no secretName: the fallback certificate
    if (!hostRe.test(e.host)) {
      problems.push(`tls host ${JSON.stringify(e.host)} cannot be served by nginx`);
      continue;
    }
    let file = pemOf.get(e.secret);
    if (!pemOf.has(e.secret)) {
      const { pem, error } = secretPem(state.secrets.get(e.secret));
      if (error) problems.push(`secret ${e.secret}: ${error}; the fallback certificate is served`);
      file = pem ? `certs/${e.secret.replace('/', '_')}.pem` : undefined;
      if (pem) files.set(file!, pem);
      pemOf.set(e.secret, file);
    }
    if (file) certMap.push(`${e.host.startsWith('*.') ? serverName(e.host) : e.host} ${quote(`${dir}/${file}`)};`);
  }

  // upstreams: one block per backend with ready endpoints (+ one per affinity cookie that uses it)
  const upstreamName = new Map<string, string>();
  const affinity = new Map<string, string>(); // `${backend}|${cookie}` → upstream name
  const cookieVars = new Map<string, number>();
  const upstreamBlocks: string[] = [];
  const servers = (eps: Endpoint[]) => eps.map((e) => `    server ${e.address} max_fails=1 fail_timeout=10s;`);
  const backends = [...t.backends].sort();
  backends.forEach((key, i) => {
    const eps = state.upstreams.get(key) ?? [];
    if (!eps.length) return;
    const name = `k8ts_${i}_${key.replace(/[^A-Za-z0-9]+/g, '_')}`;
    upstreamName.set(key, name);
    upstreamBlocks.push(`  # ${key}`, `  upstream ${name} {`, ...servers(eps), `    keepalive ${keepalive};`, '    keepalive_timeout 60s;', '  }');
  });
  const upstreamFor = (r: Route): string | undefined => {
    const base = upstreamName.get(r.backend);
    const cookie = r.options.affinityCookie;
    if (!base || !cookie) return base;
    if (!cookieRe.test(cookie)) {
      problems.push(`ingress ${r.ingress}: session-cookie-name ${JSON.stringify(cookie)} must be letters, digits and _ with the nginx data plane; no affinity`);
      return base;
    }
    const k = `${r.backend}|${cookie}`;
    let name = affinity.get(k);
    if (!name) {
      if (!cookieVars.has(cookie)) cookieVars.set(cookie, cookieVars.size);
      name = `${base}_affinity_${cookieVars.get(cookie)}`;
      affinity.set(k, name);
      upstreamBlocks.push(`  upstream ${name} {`, `    hash $k8ts_affinity_${cookieVars.get(cookie)} consistent;`, ...servers(state.upstreams.get(r.backend)!), `    keepalive ${keepalive};`, '    keepalive_timeout 60s;', '  }');
    }
    return name;
  };

  // one location for a route (or the built-in 404 when route is undefined)
  const location = (indent: number, matcher: string, r: Route | undefined, vh: VirtualHost | undefined) => {
    line(indent, `location ${matcher} {`);
    const i = indent + 1;
    if (!r) {
      line(i, 'return 404;');
      line(indent, '}');
      return;
    }
    line(i, `# ${r.ingress || 'default-http-backend'} ${r.host || '*'}${r.path} (${r.pathType}) → ${r.backend}`);
    const opts = r.options;
    if (vh?.tls && opts.sslRedirect) line(i, `if ($scheme = http) { return 308 https://$host${o.httpsPort === 443 ? '' : `:${o.httpsPort}`}$request_uri; }`);
    if (opts.allowRanges?.length) {
      for (const a of opts.allowRanges) line(i, `allow ${a};`); // parsed as addresses/CIDRs by annotations.ts
      line(i, 'deny all;');
    }
    if (opts.maxBodyBytes !== undefined) line(i, `client_max_body_size ${opts.maxBodyBytes};`);
    if (opts.readTimeoutMs !== 60_000) line(i, `proxy_read_timeout ${Math.max(1, Math.round(opts.readTimeoutMs))}ms; proxy_send_timeout ${Math.max(1, Math.round(opts.readTimeoutMs))}ms;`);
    if (opts.connectTimeoutMs !== 5_000) line(i, `proxy_connect_timeout ${Math.max(1, Math.round(opts.connectTimeoutMs))}ms;`);
    const up = upstreamFor(r);
    if (!up) {
      line(i, 'return 503;');
      line(indent, '}');
      return;
    }
    if (opts.rewriteTarget !== undefined) {
      line(i, 'set $k8ts_original_uri $request_uri;');
      let target = opts.rewriteTarget;
      // without a regex (Exact, default backends) there are no groups: $n is empty, as rewritePath does
      if (!r.regex) target = target.replace(/\$(\d)/g, '');
      if (!target.startsWith('/') && !target.startsWith('$')) target = `/${target}`;
      line(i, `rewrite ${quote(r.regex ? `(?i)^${r.path}` : '^')} ${quote(target)} break;`);
    }
    const cookie = opts.affinityCookie && cookieRe.test(opts.affinityCookie) ? opts.affinityCookie : undefined;
    if (cookie) line(i, `add_header Set-Cookie $k8ts_affinity_set_${cookieVars.get(cookie)} always;`);
    if (opts.backendProtocol === 'HTTPS') line(i, 'proxy_ssl_server_name on; proxy_ssl_name $host;');
    line(i, `proxy_pass ${opts.backendProtocol === 'HTTPS' ? 'https' : 'http'}://${up};`);
    line(indent, '}');
  };

  const safe = (what: string, r: Route, fn: () => void) => {
    const mark = out.length;
    try {
      fn();
    } catch (e) {
      out.length = mark;
      problems.push(`ingress ${r.ingress}: ${what} ${JSON.stringify(r.path)} left out of the nginx configuration: ${(e as Error).message}`);
    }
  };

  // the locations of one virtual host (vh undefined: the default server without host-less rules)
  const locations = (vh: VirtualHost | undefined) => {
    const i = 2;
    line(i, 'set $k8ts_original_uri "";');
    for (const s of errorStatuses) line(i, `location @k8ts_${s} { return ${s} ${quotePage(errorPage(s).body.toString())}; }`);
    let hasRoot = false;
    if (vh) {
      for (const [p, r] of [...vh.exact].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) safe('path', r, () => location(i, `= ${quote(p)}`, r, vh));
      if (vh.regex) {
        for (const r of vh.regex) safe('path', r, () => location(i, `~* ${quote(`^${r.path}`)}`, r, vh));
      } else {
        for (const [p, r] of [...vh.prefix].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
          safe('path', r, () => {
            if (p === '/') {
              hasRoot = true;
              location(i, '/', r, vh);
              return;
            }
            if (!vh.exact.has(p)) location(i, `= ${quote(p)}`, r, vh);
            location(i, `^~ ${quote(`${p}/`)}`, r, vh);
          });
        }
      }
    }
    if (!hasRoot) {
      const def = vh?.defaultRoute ?? t.defaultRoute;
      if (def) safe('default backend', def, () => location(i, '/', def, vh));
      else location(i, '/', undefined, vh);
    }
  };

  const http = listenAddr(o.bind, o.httpPort);
  const https = listenAddr(o.bind, o.httpsPort);
  const access = o.accessLog === false ? 'access_log off;' : `access_log ${o.accessLog === true ? '/dev/stderr' : quote(o.accessLog)} k8ts buffer=32k flush=1s;`;

  out.push(
    '# generated by k8ts (src/ingress/nginx/nginxConfig.ts) from the Ingresses it serves; do not edit',
    `worker_processes ${o.workers ?? 1};`,
    ...(o.user ? [`user ${o.user};`] : []),
    `pid ${quote(`${dir}/nginx.pid`)};`,
    'error_log stderr warn;',
    'worker_shutdown_timeout 120s;',
    'events { worker_connections 16384; }',
    'http {',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((n) => `  ${n}_temp_path ${quote(`${dir}/tmp/${n}`)};`),
    '  server_tokens off;',
    '  default_type text/html;',
    '  tcp_nodelay on;',
    '  keepalive_timeout 75s;',
    '  keepalive_requests 10000;',
    '  server_names_hash_bucket_size 256;',
    '  server_names_hash_max_size 8192;',
    '  map_hash_bucket_size 256;',
    '  uninitialized_variable_warn off;',
    `  log_format k8ts escape=json '{"component":"ingress-access","time":"$time_iso8601","remote":"$remote_addr","host":"$http_host","method":"$request_method","uri":"$request_uri","status":$status,"bytes":$body_bytes_sent,"seconds":$request_time,"upstream":"$upstream_addr","id":"$k8ts_request_id"}';`,
    `  ${access}`,
    '  client_max_body_size 0;',
    '  proxy_http_version 1.1;',
    '  proxy_connect_timeout 5s;',
    '  proxy_read_timeout 60s;',
    '  proxy_send_timeout 60s;',
    '  proxy_next_upstream error timeout;',
    '  proxy_next_upstream_tries 3;',
    '  proxy_set_header Host $k8ts_host;',
    '  proxy_set_header Upgrade $http_upgrade;',
    '  proxy_set_header Connection $k8ts_connection;',
    '  proxy_set_header X-Request-ID $k8ts_request_id;',
    '  proxy_set_header X-Real-IP $remote_addr;',
    '  proxy_set_header X-Forwarded-For $remote_addr;',
    '  proxy_set_header X-Forwarded-Host $k8ts_host;',
    '  proxy_set_header X-Forwarded-Port $server_port;',
    '  proxy_set_header X-Forwarded-Proto $scheme;',
    '  proxy_set_header X-Scheme $scheme;',
    '  proxy_set_header X-Original-URI $k8ts_original_uri;',
    '  proxy_set_header Proxy "";',
    ...errorStatuses.map((s) => `  error_page ${s} @k8ts_${s};`),
    '  map $http_upgrade $k8ts_connection { default upgrade; "" ""; }',
    '  map $http_x_request_id $k8ts_request_id { default $http_x_request_id; "" $request_id; }',
    '  map $http_host $k8ts_host { default $http_host; "" $host; }',
  );
  const mapsAt = out.length;
  out.push('  ssl_protocols TLSv1.2 TLSv1.3;', '  ssl_session_cache shared:k8ts_ssl:10m;', '  ssl_session_timeout 10m;');
  out.push('  map $ssl_server_name $k8ts_certificate {', `    default ${quote(`${dir}/certs/fallback.pem`)};`, ...certMap.map((c) => `    ${c}`), '  }');
  out.push('  ssl_certificate $k8ts_certificate;', '  ssl_certificate_key $k8ts_certificate;');

  // servers: the default one (host-less rules, default backends, unknown hosts), then each host
  const serverStart = out.length;
  // no reuseport: with one socket per worker, a reload would reset the connections queued on the old workers' sockets
  out.push('  server {', `    listen ${http} default_server;`, `    listen ${https} ssl http2 default_server;`, '    server_name _;');
  locations(t.anyHost);
  out.push('  }');
  const hosts = [...t.hosts.values(), ...t.wildcards.values()];
  for (const vh of hosts) {
    if (!hostRe.test(vh.host)) {
      problems.push(`host ${JSON.stringify(vh.host)} cannot be served by nginx; left out`);
      continue;
    }
    out.push('  server {', `    listen ${http};`, `    listen ${https} ssl http2;`, `    server_name ${serverName(vh.host)};`);
    locations(vh);
    out.push('  }');
  }
  // the affinity maps and upstream blocks are known only after the locations were generated
  const maps: string[] = [];
  for (const [cookie, n] of cookieVars) {
    maps.push(`  map $cookie_${cookie} $k8ts_affinity_${n} { "" $request_id; default $cookie_${cookie}; }`);
    maps.push(`  map $cookie_${cookie} $k8ts_affinity_set_${n} { "" "${cookie}=$request_id; Path=/; HttpOnly"; default ""; }`);
  }
  out.splice(serverStart, 0, ...upstreamBlocks);
  out.splice(mapsAt, 0, ...maps);
  out.push('}', '');
  return { conf: out.join('\n'), files, problems };
}
