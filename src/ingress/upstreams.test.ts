import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Upstream, parseBackendKey, resolveEndpoints } from './upstreams.js';

const svc: Service = { metadata: { name: 'web', namespace: 'ns' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'admin', port: 9000 }] } };
const slice = (endpoints: EndpointSlice['endpoints'], ports = [{ name: 'http', port: 8080, protocol: 'TCP' }]): EndpointSlice => ({ addressType: 'IPv4', metadata: { name: 's' }, endpoints, ports });

describe('upstreams', () => {
  it('resolves the service port (by number or name) to ready endpoints on the targetPort', () => {
    const s = slice([{ addresses: ['10.0.0.2'], conditions: { ready: true } }, { addresses: ['10.0.0.1'], conditions: { ready: true } }, { addresses: ['10.0.0.3'], conditions: { ready: false } }]);
    const r = resolveEndpoints('ns/web:80', svc, [s]);
    assert.deepEqual(r.endpoints.map((e) => e.address), ['10.0.0.1:8080', '10.0.0.2:8080']);
    assert.deepEqual(resolveEndpoints('ns/web:http', svc, [s]).endpoints.length, 2);
    assert.match(resolveEndpoints('ns/web:81', svc, [s]).reason, /no port 81/);
    assert.match(resolveEndpoints('ns/web:80', undefined, [s]).reason, /not found/);
    assert.match(resolveEndpoints('ns/web:admin', svc, [s]).reason, /no ready endpoints/);
  });

  it('falls back to serving, terminating endpoints when none is ready', () => {
    const s = slice([{ addresses: ['10.0.0.9'], conditions: { ready: false, serving: true, terminating: true } }, { addresses: ['10.0.0.8'], conditions: { ready: false, serving: false, terminating: true } }]);
    assert.deepEqual(resolveEndpoints('ns/web:80', svc, [s]).endpoints.map((e) => e.address), ['10.0.0.9:8080']);
  });

  it('round-robin, skipping endpoints that failed; affinity by cookie', () => {
    const u = new Upstream('ns/web:80');
    const { endpoints } = resolveEndpoints('ns/web:80', svc, [slice([{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }])]);
    u.set(endpoints);
    const seq = [u.pick(), u.pick(), u.pick(), u.pick()].map((e) => e!.ip);
    assert.deepEqual(seq, ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
    const failed = [endpoints[1]];
    for (let i = 0; i < 6; i++) assert.notEqual(u.pick(failed)!.ip, '10.0.0.2');
    assert.equal(u.pick(endpoints), undefined);
    assert.equal(u.byAffinity(endpoints[2].cookie), endpoints[2]);
    assert.equal(u.byAffinity('stale'), undefined);
    assert.deepEqual(parseBackendKey('ns/web:http'), { namespace: 'ns', service: 'web', port: 'http' });
  });
});
