import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { buildRouteTable, matchRoute, normalizePrefix, rewritePath } from './routeTable.js';

let n = 0;
function ing(name: string, spec: Ingress['spec'], annotations?: Record<string, string>, created?: string, namespace = 'default'): Ingress {
  return { metadata: { name, namespace, annotations, creationTimestamp: created ?? `2026-01-01T00:00:${String(n++).padStart(2, '0')}Z` }, spec };
}
const be = (name: string, port: number | string = 80) => ({ service: { name, port: typeof port === 'number' ? { number: port } : { name: port } } });
const p = (path: string, pathType: string, svc: string) => ({ path, pathType, backend: be(svc) });
const hit = (t: ReturnType<typeof buildRouteTable>, host: string, path: string) => matchRoute(t, host, path).route?.backend;

describe('route table', () => {
  it('fan-out: paths of one host to different services', () => {
    const t = buildRouteTable([ing('fan', { rules: [{ host: 'myapp.com', http: { paths: [p('/analytics', 'Prefix', 'analytics-service'), p('/shopping', 'Prefix', 'shopping-service')] } }] })]);
    assert.equal(hit(t, 'myapp.com', '/analytics'), 'default/analytics-service:80');
    assert.equal(hit(t, 'myapp.com', '/shopping/cart'), 'default/shopping-service:80');
    assert.equal(hit(t, 'myapp.com', '/other'), undefined);
    assert.equal(hit(t, 'other.com', '/analytics'), undefined);
  });

  it('Prefix is element-wise, the longest wins, trailing slashes are ignored', () => {
    const t = buildRouteTable([ing('a', { rules: [{ http: { paths: [p('/', 'Prefix', 'root'), p('/foo', 'Prefix', 'foo'), p('/foo/bar/', 'Prefix', 'foobar'), p('/x', 'ImplementationSpecific', 'x')] } }] })]);
    assert.equal(hit(t, 'h', '/foo'), 'default/foo:80');
    assert.equal(hit(t, 'h', '/foo/'), 'default/foo:80');
    assert.equal(hit(t, 'h', '/foo/baz'), 'default/foo:80');
    assert.equal(hit(t, 'h', '/foobar'), 'default/root:80');
    assert.equal(hit(t, 'h', '/foo/bar'), 'default/foobar:80');
    assert.equal(hit(t, 'h', '/foo/bar/baz'), 'default/foobar:80');
    assert.equal(hit(t, 'h', '/x/y'), 'default/x:80');
    assert.equal(hit(t, 'h', '/'), 'default/root:80');
    assert.equal(normalizePrefix('/a//'), '/a');
  });

  it('Exact beats Prefix and matches only itself', () => {
    const t = buildRouteTable([ing('a', { rules: [{ host: 'h', http: { paths: [p('/foo', 'Prefix', 'prefix'), p('/foo', 'Exact', 'exact')] } }] })]);
    assert.equal(hit(t, 'h', '/foo'), 'default/exact:80');
    assert.equal(hit(t, 'h', '/foo/'), 'default/prefix:80');
    assert.equal(hit(t, 'h', '/foo/x'), 'default/prefix:80');
  });

  it('hosts: exact, then a one-label wildcard, then rules without host', () => {
    const t = buildRouteTable([
      ing('a', { rules: [{ host: 'foo.bar.com', http: { paths: [p('/', 'Prefix', 'exact')] } }, { host: '*.bar.com', http: { paths: [p('/', 'Prefix', 'wild')] } }, { http: { paths: [p('/', 'Prefix', 'any')] } }] }),
    ]);
    assert.equal(hit(t, 'foo.bar.com', '/'), 'default/exact:80');
    assert.equal(hit(t, 'baz.bar.com', '/'), 'default/wild:80');
    assert.equal(hit(t, 'a.baz.bar.com', '/'), 'default/any:80'); // exactly one label
    assert.equal(hit(t, 'bar.com', '/'), 'default/any:80');
    assert.equal(hit(t, 'elsewhere', '/'), 'default/any:80');
  });

  it('merges rules across Ingresses; on conflict the oldest wins', () => {
    const older = ing('old', { rules: [{ host: 'h', http: { paths: [p('/a', 'Prefix', 'old-a')] } }] }, undefined, '2026-01-01T00:00:00Z');
    const newer = ing('new', { rules: [{ host: 'h', http: { paths: [p('/a', 'Prefix', 'new-a'), p('/b', 'Prefix', 'new-b')] } }] }, undefined, '2026-02-01T00:00:00Z');
    const t = buildRouteTable([newer, older]);
    assert.equal(hit(t, 'h', '/a'), 'default/old-a:80');
    assert.equal(hit(t, 'h', '/b'), 'default/new-b:80');
    assert.equal(t.problems.length, 1);
    assert.match(t.problems[0].message, /already routed by default\/old/);
  });

  it('default backends: the host\'s Ingress, else the oldest defaultBackend, else default-http-backend, else none', () => {
    const a = ing('a', { defaultBackend: be('a-default'), rules: [{ host: 'a', http: { paths: [p('/x', 'Prefix', 'ax')] } }] }, undefined, '2026-03-01T00:00:00Z');
    const b = ing('b', { defaultBackend: be('b-default', 'http'), rules: [{ host: 'b', http: { paths: [p('/x', 'Prefix', 'bx')] } }] }, undefined, '2026-01-01T00:00:00Z');
    const t = buildRouteTable([a, b], { defaultHttpBackend: 'kube-system/default-http-backend:80' });
    assert.equal(hit(t, 'a', '/nope'), 'default/a-default:80');
    assert.equal(hit(t, 'b', '/nope'), 'default/b-default:http');
    assert.equal(hit(t, 'zzz', '/'), 'default/b-default:http');
    const t2 = buildRouteTable([ing('c', { rules: [{ host: 'c', http: { paths: [p('/x', 'Prefix', 'cx')] } }] })], { defaultHttpBackend: 'kube-system/default-http-backend:80' });
    assert.equal(hit(t2, 'zzz', '/'), 'kube-system/default-http-backend:80');
    assert.equal(hit(t2, 'c', '/y'), 'kube-system/default-http-backend:80');
    assert.equal(hit(buildRouteTable([]), 'c', '/'), undefined);
  });

  it('TLS hosts (also under a wildcard) are marked for the redirect', () => {
    const t = buildRouteTable([
      ing('a', { tls: [{ hosts: ['myapp.com'], secretName: 's' }, { hosts: ['*.wild.com'], secretName: 'w' }], rules: [{ host: 'myapp.com', http: { paths: [p('/', 'Prefix', 'x')] } }, { host: 'a.wild.com', http: { paths: [p('/', 'Prefix', 'x')] } }, { host: 'plain.com', http: { paths: [p('/', 'Prefix', 'x')] } }] }),
    ]);
    assert.equal(matchRoute(t, 'myapp.com', '/').vh?.tls, true);
    assert.equal(matchRoute(t, 'a.wild.com', '/').vh?.tls, true);
    assert.equal(matchRoute(t, 'plain.com', '/').vh?.tls, false);
    assert.deepEqual(t.tls, [{ host: 'myapp.com', secret: 'default/s' }, { host: '*.wild.com', secret: 'default/w' }]);
  });

  it('regex mode (use-regex / rewrite-target) applies to the whole host; rewrite fills capture groups', () => {
    const t = buildRouteTable([
      ing('r', { rules: [{ host: 'h', http: { paths: [p('/something(/|$)(.*)', 'ImplementationSpecific', 'rx')] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' }),
      ing('plain', { rules: [{ host: 'h', http: { paths: [p('/api', 'Prefix', 'api')] } }] }),
    ]);
    const m = matchRoute(t, 'h', '/something/new/x');
    assert.equal(m.route?.backend, 'default/rx:80');
    assert.equal(rewritePath(m.route!, '/something/new/x', '?q=1'), '/new/x?q=1');
    assert.equal(rewritePath(m.route!, '/something', ''), '/');
    assert.equal(hit(t, 'h', '/apis'), 'default/api:80'); // a regex ^/api now: prefix of /apis, as in nginx
  });

  it('rewrite-target / sends every path under the prefix to /', () => {
    const t = buildRouteTable([ing('fan', { rules: [{ host: 'myapp.com', http: { paths: [p('/analytics', 'Prefix', 'a')] } }] }, { 'nginx.ingress.kubernetes.io/rewrite-target': '/' })]);
    const m = matchRoute(t, 'myapp.com', '/analytics/page');
    assert.equal(rewritePath(m.route!, '/analytics/page', ''), '/');
  });

  it('reports bad annotations and non-service backends, keeping the rest', () => {
    const t = buildRouteTable([
      ing('bad', { rules: [{ host: 'h', http: { paths: [{ path: '/r', pathType: 'Prefix', backend: { resource: { apiGroup: 'x', kind: 'K', name: 'n' } } }, p('/ok', 'Prefix', 'ok')] } }] }, { 'nginx.ingress.kubernetes.io/proxy-body-size': 'lots' }),
    ]);
    assert.equal(hit(t, 'h', '/ok'), 'default/ok:80');
    assert.equal(t.problems.length, 2);
  });
});
