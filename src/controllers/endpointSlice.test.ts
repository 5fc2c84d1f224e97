import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, EndpointPort } from 'kubernetes-types/discovery/v1.js';
import { planSlices, podPorts, podToEndpoint } from './endpointSlice.js';
import { computeSubsets, findPort } from './endpoints.js';

const ports: EndpointPort[] = [{ name: '', port: 80, protocol: 'TCP' }];
const ep = (i: number): Endpoint => ({ addresses: [`10.0.0.${i}`], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', uid: `u${i}` } });
const desired = (n: number, from = 0) => new Map([[JSON.stringify([{ name: '', port: 80, protocol: 'TCP' }]), { ports, endpoints: new Map(Array.from({ length: n }, (_, i) => [`u${i + from}`, ep(i + from)])) }]]);
const slice = (name: string, eps: Endpoint[]) => ({ metadata: { name }, addressType: 'IPv4', ports, endpoints: eps }) as any;

const pod = (name: string, ready: boolean, extra: any = {}) => ({
  metadata: { name, namespace: 'ns', uid: name, labels: { app: 'web' }, ...(extra.metadata ?? {}) },
  spec: { nodeName: 'n1', containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { phase: 'Running', podIP: extra.ip ?? '10.0.0.1', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const svc = (spec: any = {}) => ({ metadata: { name: 'web', namespace: 'ns' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...spec } });

describe('endpointslice planning', () => {
  it('splits 150 endpoints into 100 + 50', () => {
    const p = planSlices([], desired(150));
    assert.deepEqual(p.create.map((c) => c.endpoints.length), [100, 50]);
  });
  it('leaves unchanged slices alone and adds to the one with room', () => {
    const a = slice('a', Array.from({ length: 100 }, (_, i) => ep(i)));
    const b = slice('b', Array.from({ length: 50 }, (_, i) => ep(100 + i)));
    assert.deepEqual(planSlices([a, b], desired(150)), { create: [], update: [], remove: [] });
    const p = planSlices([a, b], desired(151));
    assert.equal(p.create.length, 0);
    assert.deepEqual(p.update.map((u) => [u.slice.metadata!.name, u.endpoints.length]), [['b', 51]]);
  });
  it('removes gone endpoints only from their slice and deletes emptied slices', () => {
    const a = slice('a', [ep(0), ep(1)]);
    const b = slice('b', [ep(2)]);
    const d = desired(1); // only u0 left
    const p = planSlices([a, b], d);
    assert.deepEqual(p.update.map((u) => [u.slice.metadata!.name, u.endpoints.length]), [['a', 1]]);
    assert.deepEqual(p.remove.map((s: any) => s.metadata.name), ['b']);
  });
  it('recycles a slice of an unwanted port set instead of delete + create', () => {
    const old = { ...slice('old', []), ports: [] };
    const p = planSlices([old], desired(3));
    assert.equal(p.create.length, 0);
    assert.equal(p.update[0].slice.metadata!.name, 'old');
    assert.equal(p.remove.length, 0);
  });
});

describe('endpoints from pods', () => {
  it('resolves named and numeric target ports', () => {
    const p = pod('a', true) as any;
    assert.equal(findPort(p, { port: 80, targetPort: 'http' } as any), 8080);
    assert.equal(findPort(p, { port: 80, targetPort: 9000 } as any), 9000);
    assert.equal(findPort(p, { port: 80, targetPort: 'nope' } as any), undefined);
    assert.equal(findPort(p, { port: 80, targetPort: 'http', protocol: 'UDP' } as any), undefined);
    assert.deepEqual(podPorts(svc() as any, p), [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  });
  it('puts ready and not-ready pods apart, or all ready when published', () => {
    const pods = [pod('a', true, { ip: '10.0.0.2' }), pod('b', false, { ip: '10.0.0.10' }), pod('c', true, { ip: '10.0.0.1' })] as any[];
    const [s] = computeSubsets(svc() as any, pods);
    assert.deepEqual(s.addresses!.map((a) => a.ip), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(s.notReadyAddresses!.map((a) => a.ip), ['10.0.0.10']);
    assert.deepEqual(s.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const [all] = computeSubsets(svc({ publishNotReadyAddresses: true }) as any, pods);
    assert.equal(all.addresses!.length, 3);
    assert.equal(all.notReadyAddresses, undefined);
  });
  it('terminating pods: out of Endpoints, in slices as terminating and not ready', () => {
    const t = pod('t', true, { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } }) as any;
    assert.equal(computeSubsets(svc() as any, [t]).length, 0);
    assert.deepEqual(podToEndpoint(svc() as any, t, undefined)!.conditions, { ready: false, serving: true, terminating: true });
    const node = { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } } as any;
    assert.equal(podToEndpoint(svc() as any, pod('a', true) as any, node)!.zone, 'z1');
  });
  it('publishNotReadyAddresses forces ready but not serving; nodeName and hostname (subdomain = service)', () => {
    const nr = pod('nr', false) as any;
    assert.deepEqual(podToEndpoint(svc({ publishNotReadyAddresses: true }) as any, nr, undefined)!.conditions, { ready: true, serving: false, terminating: false });
    assert.equal(podToEndpoint(svc() as any, nr, undefined)!.nodeName, 'n1');
    const named = (subdomain: string) => {
      const p = pod('h', true) as any;
      Object.assign(p.spec, { hostname: 'web-0', subdomain });
      return p;
    };
    const s = svc() as any;
    assert.equal(podToEndpoint(s, named(s.metadata.name), undefined)!.hostname, 'web-0');
    assert.equal(podToEndpoint(s, named('other'), undefined)!.hostname, undefined);
  });
});
