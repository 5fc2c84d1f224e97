// Unit tests of pods/services proxy addressing: id splitting, allowed
// addresses, pod ports, proxy paths and Location rewriting.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allowedAddress, podPort, rewriteLocation, splitProxyPath, splitSchemeNamePort } from './podServiceProxy.js';

describe('pods/services proxy addressing', () => {
  it('splits [scheme:]name[:port] like upstream', () => {
    assert.deepEqual(splitSchemeNamePort('web'), { scheme: 'http', name: 'web', port: '' });
    assert.deepEqual(splitSchemeNamePort('web:8080'), { scheme: 'http', name: 'web', port: '8080' });
    assert.deepEqual(splitSchemeNamePort('https:web:'), { scheme: 'https', name: 'web', port: '' });
    assert.deepEqual(splitSchemeNamePort('http:web:http'), { scheme: 'http', name: 'web', port: 'http' });
    // two parts are always name:port
    assert.deepEqual(splitSchemeNamePort('https:web'), { scheme: 'http', name: 'https', port: 'web' });
    assert.equal(splitSchemeNamePort('ftp:web:80'), undefined);
    assert.equal(splitSchemeNamePort(':80'), undefined);
    assert.equal(splitSchemeNamePort('a:b:c:d'), undefined);
  });

  it('dials only unicast, non-loopback, non-link-local addresses', () => {
    for (const ip of ['10.42.0.5', '192.168.1.2', 'fd00::5', '2001:db8::1']) assert.ok(allowedAddress(ip), ip);
    for (const ip of ['127.0.0.1', '0.0.0.0', '169.254.169.254', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', 'example.com', '', undefined]) {
      assert.ok(!allowedAddress(ip), String(ip));
    }
  });

  it('pod ports: number, container port name, first declared port, else 80/443; others are 400', () => {
    const pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }, { name: 'b', ports: [{ name: 'http', containerPort: 8080 }, { name: 'm', containerPort: 9090 }] }] } };
    assert.equal(podPort(pod, '', 'http'), 8080);
    assert.equal(podPort(pod, 'm', 'http'), 9090);
    assert.equal(podPort(pod, '81', 'http'), 81);
    assert.equal(podPort({ spec: { containers: [{ name: 'a' }] } }, '', 'https'), 443);
    assert.throws(() => podPort(pod, 'nope', 'http'), (e: any) => e.code === 400);
    assert.throws(() => podPort(pod, '70000', 'http'), (e: any) => e.code === 400);
    assert.throws(() => podPort(pod, '0', 'http'), (e: any) => e.code === 400);
  });

  it('splits the proxy prefix from the backend path, keeping the client escaping and trailing slash', () => {
    assert.deepEqual(splitProxyPath('/api/v1/namespaces/d/pods/w:80/proxy/a%20b/'), { prefix: '/api/v1/namespaces/d/pods/w:80/proxy', rest: '/a%20b/' });
    assert.deepEqual(splitProxyPath('/api/v1/namespaces/d/services/w/proxy'), { prefix: '/api/v1/namespaces/d/services/w/proxy', rest: '' });
    assert.equal(splitProxyPath('/api/v1/namespaces/d/services/w/proxyx'), undefined);
  });

  it('rewrites redirects to the backend (or absolute paths) through the proxy, leaves others alone', () => {
    const p = '/api/v1/namespaces/d/pods/w:80/proxy';
    assert.equal(rewriteLocation('/login?x=1', p, '10.42.0.5:80', 'api:6443'), `${p}/login?x=1`);
    assert.equal(rewriteLocation('http://10.42.0.5:80/a/', p, '10.42.0.5:80', 'api:6443'), `${p}/a/`);
    assert.equal(rewriteLocation(`${p}/a`, p, '10.42.0.5:80', 'api:6443'), `${p}/a`);
    assert.equal(rewriteLocation('https://example.com/x', p, '10.42.0.5:80', 'api:6443'), 'https://example.com/x');
    assert.equal(rewriteLocation('next', p, '10.42.0.5:80', 'api:6443'), 'next');
  });
});
