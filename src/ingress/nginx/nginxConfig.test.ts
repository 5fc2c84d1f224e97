// The nginx configuration generator: the route table's semantics as nginx
// server/location blocks, upstreams, certificates and annotations; strings
// that could break out of the configuration are refused. When /usr/sbin/nginx
// is installed, the generated text also passes `nginx -t`.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { buildRouteTable } from '../routeTable.js';
import { selfSignedCertificate, type KeyPair } from '../certificates.js';
import { endpointCookie, type Endpoint } from '../upstreams.js';
import { quote, renderNginxConfig, serverName, type NginxOptions, type NginxState } from './nginxConfig.js';

const ep = (ip: string, port: number): Endpoint => ({ ip, port, address: `${ip}:${port}`, cookie: endpointCookie(`${ip}:${port}`) });
const be = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
let n = 0;
const ing = (spec: Ingress['spec'], annotations?: Record<string, string>, name = `i${n++}`): Ingress => ({ metadata: { name, namespace: 'default', creationTimestamp: `2024-01-01T00:00:${String(n).padStart(2, '0')}Z`, annotations }, spec });
const tlsSecret = (kp: KeyPair, rv = '1'): Secret => ({ metadata: { name: 'myapp-tls', namespace: 'default', resourceVersion: rv }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(kp.cert).toString('base64'), 'tls.key': Buffer.from(kp.key).toString('base64') } });

/** The body of the block that starts with `head {` (nested braces counted). */
function block(conf: string, head: string): string {
  const i = conf.indexOf(`${head} {`);
  assert.ok(i >= 0, `no block ${head} in\n${conf}`);
  let depth = 0;
  for (let j = conf.indexOf('{', i); j < conf.length; j++) {
    if (conf[j] === '{') depth++;
    else if (conf[j] === '}' && --depth === 0) return conf.slice(i, j + 1);
  }
  throw new Error('unbalanced');
}

/** The server block for a server_name. */
function server(conf: string, name: string): string {
  const marker = `server_name ${name};`;
  const i = conf.indexOf(marker);
  assert.ok(i >= 0, `no server ${name}`);
  const start = conf.lastIndexOf('  server {', i);
  return block(conf.slice(start), '  server');
}

describe('nginx configuration', () => {
  let fallback: KeyPair;
  let opts: NginxOptions;
  before(async () => {
    fallback = await selfSignedCertificate('fallback', ['fallback.local']);
    opts = { dir: '/var/lib/k8ts/ingress-nginx', bind: '127.0.0.1', httpPort: 8080, httpsPort: 8443, fallback, accessLog: false };
  });
  const render = (ingresses: Ingress[], upstreams: Record<string, Endpoint[]>, secrets: Secret[] = [], defaultHttpBackend?: string, o: Partial<NginxOptions> = {}) => {
    const state: NginxState = { table: buildRouteTable(ingresses, { defaultHttpBackend }), upstreams: new Map(Object.entries(upstreams)), secrets: new Map(secrets.map((s) => [`${s.metadata!.namespace}/${s.metadata!.name}`, s])) };
    return renderNginxConfig(state, { ...opts, ...o });
  };

  it('hosts: exact server_name, a one-label regex for *.x, host-less rules and the built-in 404 in the default server', () => {
    const c = render([ing({ rules: [{ host: 'a.myapp.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('a') }] } }, { host: '*.wild.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('w') }] } }] })], { 'default/a:80': [ep('10.0.0.1', 8080)], 'default/w:80': [ep('10.0.0.2', 8080)] });
    assert.deepEqual(c.problems, []);
    assert.match(server(c.conf, 'a.myapp.com'), /location \/ \{[^}]*proxy_pass http:\/\/k8ts_\d+_default_a_80;/);
    assert.equal(serverName('*.wild.test'), '"~^[^.]+\\\\.wild\\\\.test$"');
    assert.match(server(c.conf, serverName('*.wild.test')), /proxy_pass http:\/\/k8ts_\d+_default_w_80;/);
    const def = server(c.conf, '_');
    assert.match(def, /listen 127\.0\.0\.1:8080 default_server/);
    assert.match(def, /listen 127\.0\.0\.1:8443 ssl http2 default_server/);
    assert.match(def, /location \/ \{\s*return 404;/);
    assert.match(def, /location @k8ts_404 \{ return 404 "<html>.*k8ts ingress/);
    // the upstream block: ready endpoints + keep-alive
    assert.match(block(c.conf, '  upstream k8ts_0_default_a_80'), /server 10\.0\.0\.1:8080 max_fails=1 fail_timeout=10s;\s*keepalive 64;/);
  });

  it('paths: Exact = location =, Prefix element-wise (= /foo and ^~ /foo/), Exact beats Prefix', () => {
    const c = render([ing({ rules: [{ host: 'paths.test', http: { paths: [{ path: '/foo', pathType: 'Prefix', backend: be('p') }, { path: '/foo', pathType: 'Exact', backend: be('e') }, { path: '/foo/bar/', pathType: 'ImplementationSpecific', backend: be('b') }] } }] })], { 'default/p:80': [ep('10.0.0.1', 1)], 'default/e:80': [ep('10.0.0.2', 1)], 'default/b:80': [ep('10.0.0.3', 1)] });
    const s = server(c.conf, 'paths.test');
    assert.match(s, /location = "\/foo" \{[^}]*default_e_80;/);
    assert.doesNotMatch(s, /location = "\/foo" \{[^}]*default_p_80;/); // only once: the Exact route
    assert.match(s, /location \^~ "\/foo\/" \{[^}]*default_p_80;/);
    assert.match(s, /location = "\/foo\/bar" \{[^}]*default_b_80;/);
    assert.match(s, /location \^~ "\/foo\/bar\/" \{[^}]*default_b_80;/);
    // nothing at / for this host: the built-in 404 (no default backend anywhere)
    assert.match(s, /location \/ \{\s*return 404;/);
  });

  it('default backends: the host\'s Ingress defaultBackend, then default-http-backend', () => {
    const c = render([ing({ defaultBackend: be('catch'), rules: [{ host: 'h.test', http: { paths: [{ path: '/x', pathType: 'Prefix', backend: be('x') }] } }] })], { 'default/catch:80': [ep('10.0.0.9', 1)], 'default/x:80': [ep('10.0.0.1', 1)] });
    assert.match(server(c.conf, 'h.test'), /location \/ \{[^}]*default_catch_80;/);
    assert.match(server(c.conf, '_'), /location \/ \{[^}]*default_catch_80;/);
    const d = render([], { 'kube-system/default-http-backend:80': [ep('10.0.0.8', 8080)] }, [], 'kube-system/default-http-backend:80');
    assert.match(server(d.conf, '_'), /location \/ \{[^}]*proxy_pass http:\/\/k8ts_0_kube_system_default_http_backend_80;/);
  });

  it('no endpoints: 503; annotations: rewrite (regex host), body size, read timeout, allow-list, HTTPS backends', () => {
    const c = render(
      [
        ing({ rules: [{ host: 'myapp.com', http: { paths: [{ path: '/analytics', pathType: 'Prefix', backend: be('a') }, { path: '/shop(/|$)(.*)', pathType: 'ImplementationSpecific', backend: be('s') }] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2', 'nginx.ingress.kubernetes.io/proxy-body-size': '1k', 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3', 'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/8, 127.0.0.1', 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS' }),
      ],
      { 'default/a:80': [ep('10.0.0.1', 1)] },
    );
    const s = server(c.conf, 'myapp.com');
    // regex mode: ~* ^path, longest first
    assert.ok(s.indexOf('location ~* "^/shop(/|$)(.*)"') < s.indexOf('location ~* "^/analytics"'));
    const a = block(s, '    location ~* "^/analytics"');
    assert.match(a, /rewrite "\(\?i\)\^\/analytics" "\/\$2" break;/);
    assert.match(a, /client_max_body_size 1024;/);
    assert.match(a, /proxy_read_timeout 3000ms;/);
    assert.match(a, /allow 10\.0\.0\.0\/8;\s*allow 127\.0\.0\.1;\s*deny all;/);
    assert.match(a, /proxy_ssl_server_name on;[^}]*proxy_pass https:\/\/k8ts_/);
    assert.match(a, /set \$k8ts_original_uri \$request_uri;/);
    assert.match(block(s, '    location ~* "^/shop(/|$)(.*)"'), /return 503;/);
  });

  it('TLS: SNI → one PEM per Secret (cert + key), fallback by default, 308 for TLS hosts unless ssl-redirect false', async () => {
    const kp = await selfSignedCertificate('myapp.com', ['myapp.com']);
    const c = render(
      [
        ing({ tls: [{ hosts: ['myapp.com', '*.myapp.com'], secretName: 'myapp-tls' }], rules: [{ host: 'myapp.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }, { host: 'x.myapp.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }] }),
        ing({ rules: [{ host: 'myapp.com', http: { paths: [{ path: '/api', pathType: 'Prefix', backend: be('web') }] } }] }, { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }),
      ],
      { 'default/web:80': [ep('10.0.0.1', 1)] },
      [tlsSecret(kp)],
    );
    assert.deepEqual(c.problems, []);
    assert.equal(c.files.get('certs/default_myapp-tls.pem'), `${kp.cert.trimEnd()}\n${kp.key.trimEnd()}\n`);
    assert.ok(c.files.get('certs/fallback.pem')!.includes(fallback.key.trim()));
    const m = block(c.conf, '  map $ssl_server_name $k8ts_certificate');
    assert.match(m, /default "\/var\/lib\/k8ts\/ingress-nginx\/certs\/fallback\.pem";/);
    assert.match(m, /myapp\.com "\/var\/lib\/k8ts\/ingress-nginx\/certs\/default_myapp-tls\.pem";/);
    assert.match(m, /"~\^\[\^\.\]\+\\\\\.myapp\\\\\.com\$" "\/var\/lib\/k8ts\/ingress-nginx\/certs\/default_myapp-tls\.pem";/);
    const s = server(c.conf, 'myapp.com');
    assert.match(block(s, '    location /'), /if \(\$scheme = http\) \{ return 308 https:\/\/\$host:8443\$request_uri; \}/);
    assert.doesNotMatch(block(s, '    location ^~ "/api/"'), /return 308/);
    // a wildcard certificate covers x.myapp.com: it redirects too
    assert.match(server(c.conf, 'x.myapp.com'), /return 308/);
    // a broken Secret: reported, fallback served
    const bad = render([ing({ tls: [{ hosts: ['b.test'], secretName: 'myapp-tls' }], rules: [{ host: 'b.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }] })], {}, [{ ...tlsSecret(kp), data: { 'tls.crt': Buffer.from(kp.cert).toString('base64'), 'tls.key': Buffer.from(fallback.key).toString('base64') } }]);
    assert.equal(bad.problems.length, 1);
    assert.match(bad.problems[0], /secret default\/myapp-tls: .*fallback/);
    assert.equal(bad.files.has('certs/default_myapp-tls.pem'), false);
  });

  it('affinity: cookie → a consistent-hash upstream on the cookie (set when missing)', () => {
    const c = render([ing({ rules: [{ host: 's.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }] } }] }, { 'nginx.ingress.kubernetes.io/affinity': 'cookie', 'nginx.ingress.kubernetes.io/session-cookie-name': 'route' })], { 'default/web:80': [ep('10.0.0.1', 1), ep('10.0.0.2', 1)] });
    assert.match(c.conf, /map \$cookie_route \$k8ts_affinity_0 \{ "" \$request_id; default \$cookie_route; \}/);
    assert.match(block(c.conf, '  upstream k8ts_0_default_web_80_affinity_0'), /hash \$k8ts_affinity_0 consistent;\s*server 10\.0\.0\.1:1 [^;]*;\s*server 10\.0\.0\.2:1/);
    const s = server(c.conf, 's.test');
    assert.match(s, /add_header Set-Cookie \$k8ts_affinity_set_0 always;/);
    assert.match(s, /proxy_pass http:\/\/k8ts_0_default_web_80_affinity_0;/);
  });

  it('refuses strings that could break out of the configuration', () => {
    assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
    assert.throws(() => quote('a\nb'));
    const c = render([ing({ rules: [{ host: 'x.test', http: { paths: [{ path: '/ok', pathType: 'Prefix', backend: be('web') }, { path: '/bad\n}', pathType: 'Exact', backend: be('web') }] } }] })], { 'default/web:80': [ep('10.0.0.1', 1)] });
    assert.equal(c.problems.length, 1);
    assert.doesNotMatch(c.conf, /bad/);
    assert.match(c.conf, /"\/ok\/"/);
  });

  it('passes nginx -t', { skip: !existsSync('/usr/sbin/nginx') || process.getuid?.() !== 0 ? 'needs root and /usr/sbin/nginx' : undefined }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8ts-nginx-conf-'));
    try {
      const kp = await selfSignedCertificate('myapp.com', ['myapp.com']);
      const c = render(
        [
          ing({ tls: [{ hosts: ['myapp.com'], secretName: 'myapp-tls' }], defaultBackend: be('web'), rules: [{ host: 'myapp.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('web') }, { path: '/x', pathType: 'Exact', backend: be('web') }] } }, { host: '*.wild.test', http: { paths: [{ path: '/a', pathType: 'Prefix', backend: be('none') }] } }, { http: { paths: [{ path: '/any', pathType: 'Prefix', backend: be('web') }] } }] }),
          ing({ rules: [{ host: 'r.test', http: { paths: [{ path: '/shop(/|$)(.*)', pathType: 'ImplementationSpecific', backend: be('web') }, { path: '/e', pathType: 'Exact', backend: be('web') }] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2', 'nginx.ingress.kubernetes.io/affinity': 'cookie', 'nginx.ingress.kubernetes.io/whitelist-source-range': '10.0.0.0/8,::1', 'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'nginx.ingress.kubernetes.io/proxy-body-size': '8m' }),
        ],
        { 'default/web:80': [ep('10.0.0.1', 8080), ep('10.0.0.2', 8080)] },
        [tlsSecret(kp)],
        undefined,
        { dir, accessLog: join(dir, 'access.log'), user: 'root', workers: 'auto' },
      );
      assert.deepEqual(c.problems, []);
      for (const [rel, content] of c.files) {
        mkdirSync(dirname(join(dir, rel)), { recursive: true });
        writeFileSync(join(dir, rel), content, { mode: 0o600 });
      }
      mkdirSync(join(dir, 'tmp'));
      writeFileSync(join(dir, 'nginx.conf'), c.conf);
      const r = spawnSync('/usr/sbin/nginx', ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${r.stderr}\n${c.conf}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
