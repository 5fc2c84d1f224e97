import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseAnnotations, parseSeconds, parseSize, parseSourceRanges } from './annotations.js';

const a = (o: Record<string, string>) => parseAnnotations(Object.fromEntries(Object.entries(o).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v])));

describe('annotations', () => {
  it('defaults', () => {
    const { options, problems } = parseAnnotations(undefined);
    assert.deepEqual(problems, []);
    assert.equal(options.sslRedirect, true);
    assert.equal(options.useRegex, false);
    assert.equal(options.backendProtocol, 'HTTP');
    assert.equal(options.readTimeoutMs, 60_000);
    assert.equal(options.maxBodyBytes, undefined);
  });

  it('parses the common ones', () => {
    const { options, problems } = a({ 'rewrite-target': '/$1', 'ssl-redirect': 'false', 'backend-protocol': 'https', 'proxy-body-size': '8k', 'proxy-read-timeout': '5', 'whitelist-source-range': '10.0.0.0/8, 127.0.0.1', affinity: 'cookie', 'session-cookie-name': 'route' });
    assert.deepEqual(problems, []);
    assert.equal(options.rewriteTarget, '/$1');
    assert.equal(options.useRegex, true); // implied
    assert.equal(options.sslRedirect, false);
    assert.equal(options.backendProtocol, 'HTTPS');
    assert.equal(options.maxBodyBytes, 8192);
    assert.equal(options.readTimeoutMs, 5000);
    assert.equal(options.affinityCookie, 'route');
    assert.equal(options.allow!.check('10.1.2.3', 'ipv4'), true);
    assert.equal(options.allow!.check('127.0.0.1', 'ipv4'), true);
    assert.equal(options.allow!.check('127.0.0.2', 'ipv4'), false);
    assert.equal(a({ affinity: 'cookie' }).options.affinityCookie, 'INGRESSCOOKIE');
  });

  it('reports bad values and keeps defaults', () => {
    const { options, problems } = a({ 'backend-protocol': 'FCGI', 'proxy-read-timeout': 'soon', 'whitelist-source-range': 'nope' });
    assert.equal(problems.length, 3);
    assert.equal(options.backendProtocol, 'HTTP');
    assert.equal(options.readTimeoutMs, 60_000);
    assert.equal(options.allow, undefined);
  });

  it('sizes, durations and ranges', () => {
    assert.equal(parseSize('1m'), 1024 * 1024);
    assert.equal(parseSize('0'), undefined);
    assert.equal(parseSize('10'), 10);
    assert.equal(parseSeconds('2m'), 120_000);
    assert.equal(parseSeconds('500ms'), 500);
    assert.equal(parseSourceRanges('::1').check('::1', 'ipv6'), true);
    assert.throws(() => parseSourceRanges('10.0.0.0/33'));
  });
});
