import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/kind.js';
import { EventRecorder } from '../client/events.js';
import { InformerFactory } from '../client/factory.js';
import { FakeApi, settle } from '../controllers/fakeApi.js';
import { nodeLoadBalancerAddresses, ServiceLBController } from './controller.js';

let factory: InformerFactory | undefined;
afterEach(() => factory?.stop());

const node = (name: string, ip: string, o: { ready?: string; external?: string; unschedulable?: boolean; labels?: Record<string, string> } = {}): KubeObject => ({
  metadata: { name, namespace: undefined, labels: o.labels ?? {} },
  spec: { unschedulable: o.unschedulable },
  status: {
    conditions: [{ type: 'Ready', status: o.ready ?? 'True' }],
    addresses: [{ type: 'InternalIP', address: ip }, ...(o.external ? [{ type: 'ExternalIP', address: o.external }] : []), { type: 'Hostname', address: name }],
  },
});

async function setup(opts: { pool?: string; services?: KubeObject[] } = {}) {
  const api = new FakeApi();
  for (const s of opts.services ?? []) api.put('services', s);
  factory = new InformerFactory(api.asClient);
  const recorder = new EventRecorder(api.asClient, 'service-controller');
  const c = new ServiceLBController(factory, recorder, { pool: opts.pool });
  await factory.start();
  const svc = async (name: string, spec: Record<string, unknown>) => {
    await api.request('POST', '/api/v1/namespaces/default/services', { metadata: { name }, spec: { ports: [{ port: 80 }], ...spec }, status: { loadBalancer: {} } });
    await settle();
  };
  const update = async (name: string, f: (s: KubeObject) => void) => {
    const cur = structuredClone(api.get('services', 'default', name)!);
    f(cur);
    api.put('services', cur);
    await settle();
  };
  /** reconcile every queued key until quiet (bounded) */
  const drain = async () => {
    for (let i = 0; i < 50 && c.queue.len() > 0; i++) {
      const k = (await c.queue.get())!;
      await c.reconcile(k);
      c.queue.done(k);
      await settle();
    }
    await recorder.flush();
  };
  const ingress = (name: string) => (api.get('services', 'default', name)?.status?.loadBalancer?.ingress ?? []).map((i: { ip: string }) => i.ip);
  const putNode = async (n: KubeObject) => {
    api.put('nodes', n);
    await settle();
  };
  const reasons = () => api.items('events').map((e) => `${e.involvedObject.name}:${e.reason}`);
  return { api, c, svc, update, drain, ingress, putNode, reasons };
}

describe('nodeLoadBalancerAddresses', () => {
  it('prefers ExternalIP, skips NotReady, unschedulable and excluded nodes', () => {
    assert.deepEqual(nodeLoadBalancerAddresses(node('a', '10.0.0.2') as never), ['10.0.0.2']);
    assert.deepEqual(nodeLoadBalancerAddresses(node('a', '10.0.0.2', { external: '192.0.2.5' }) as never), ['192.0.2.5']);
    assert.deepEqual(nodeLoadBalancerAddresses(node('a', '10.0.0.2', { ready: 'Unknown' }) as never), []);
    assert.deepEqual(nodeLoadBalancerAddresses(node('a', '10.0.0.2', { unschedulable: true }) as never), []);
    assert.deepEqual(nodeLoadBalancerAddresses(node('a', '10.0.0.2', { labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }) as never), []);
  });
});

describe('ServiceLBController, node mode', () => {
  it('writes the Ready nodes’ addresses, sorted numerically, and follows node changes', async () => {
    const t = await setup();
    await t.putNode(node('n1', '10.45.0.10'));
    await t.putNode(node('n2', '10.45.0.9'));
    await t.svc('web', { type: 'LoadBalancer' });
    await t.drain();
    assert.deepEqual(t.ingress('web'), ['10.45.0.9', '10.45.0.10']);
    assert.equal(t.api.get('services', 'default', 'web')!.status.loadBalancer.ingress[0].ipMode, 'VIP');
    assert.deepEqual(t.reasons(), ['web:EnsuringLoadBalancer', 'web:EnsuredLoadBalancer']);
    // a heartbeat that changes nothing relevant enqueues nothing
    const n1 = structuredClone(t.api.get('nodes', 'undefined', 'n1') ?? node('n1', '10.45.0.10'));
    await t.putNode(n1);
    assert.equal(t.c.queue.len(), 0);
    await t.putNode(node('n2', '10.45.0.9', { ready: 'Unknown' }));
    await t.drain();
    assert.deepEqual(t.ingress('web'), ['10.45.0.10']);
    assert.equal(t.reasons().at(-1), 'web:UpdatedLoadBalancer');
    await t.api.request('DELETE', '/api/v1/nodes/n1');
    await settle();
    await t.drain();
    assert.deepEqual(t.ingress('web'), [], 'no usable node: pending');
    await t.putNode(node('n2', '10.45.0.9'));
    await t.drain();
    assert.deepEqual(t.ingress('web'), ['10.45.0.9']);
  });

  it('leaves Services with a loadBalancerClass and other types alone; clears status when the type changes', async () => {
    const t = await setup();
    await t.putNode(node('n1', '10.45.0.1'));
    await t.svc('classy', { type: 'LoadBalancer', loadBalancerClass: 'example.com/lb' });
    await t.svc('plain', { type: 'ClusterIP' });
    await t.svc('lb', { type: 'LoadBalancer' });
    await t.drain();
    assert.deepEqual(t.ingress('classy'), []);
    assert.deepEqual(t.ingress('plain'), []);
    assert.deepEqual(t.ingress('lb'), ['10.45.0.1']);
    // another implementation's status is never rewritten
    await t.update('classy', (s) => (s.status = { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } }));
    await t.drain();
    assert.deepEqual(t.ingress('classy'), ['203.0.113.1']);
    await t.update('lb', (s) => (s.spec.type = 'ClusterIP'));
    await t.drain();
    assert.deepEqual(t.ingress('lb'), []);
    assert.ok(t.reasons().includes('lb:DeletedLoadBalancer'));
  });
});

describe('ServiceLBController, pool mode', () => {
  it('assigns one address per Service, honours loadBalancerIP, releases on delete and type change', async () => {
    const t = await setup({ pool: '10.44.0.0/29' });
    await t.putNode(node('n1', '10.45.0.1'));
    await t.svc('a', { type: 'LoadBalancer' });
    await t.drain();
    await t.svc('b', { type: 'LoadBalancer' });
    await t.drain();
    assert.deepEqual(t.ingress('a'), ['10.44.0.1']);
    assert.deepEqual(t.ingress('b'), ['10.44.0.2']);
    await t.svc('c', { type: 'LoadBalancer', loadBalancerIP: '10.44.0.5' });
    await t.svc('d', { type: 'LoadBalancer', loadBalancerIP: '10.44.0.5' });
    await t.svc('e', { type: 'LoadBalancer', loadBalancerIP: '10.99.0.1' });
    await t.drain();
    assert.deepEqual(t.ingress('c'), ['10.44.0.5']);
    assert.deepEqual(t.ingress('d'), [], 'taken');
    assert.deepEqual(t.ingress('e'), [], 'outside the pool');
    assert.ok(t.reasons().includes('d:SyncLoadBalancerFailed'));
    // c goes away: d gets its wish
    await t.api.request('DELETE', '/api/v1/namespaces/default/services/c');
    await settle();
    await t.drain();
    assert.deepEqual(t.ingress('d'), ['10.44.0.5']);
    // a stops being a LoadBalancer: status cleared, address free for the next
    await t.update('a', (s) => (s.spec.type = 'NodePort'));
    await t.drain();
    assert.deepEqual(t.ingress('a'), []);
    await t.svc('f', { type: 'LoadBalancer' });
    await t.drain();
    assert.deepEqual(t.ingress('f'), ['10.44.0.1']);
  });

  it('re-reads assignments from status after a restart and keeps them', async () => {
    const mk = (name: string, ip: string, ts: string): KubeObject => ({
      metadata: { name, namespace: 'default', uid: name, creationTimestamp: ts },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } },
    });
    // dup claims the same address later than old: old keeps it
    const t = await setup({ pool: '10.44.0.0/29', services: [mk('dup', '10.44.0.3', '2024-01-02T00:00:00Z'), mk('old', '10.44.0.3', '2024-01-01T00:00:00Z'), mk('x', '10.44.0.1', '2024-01-01T00:00:00Z')] });
    for (const k of ['default/dup', 'default/old', 'default/x']) t.c.queue.add(k);
    await t.drain();
    assert.deepEqual(t.ingress('old'), ['10.44.0.3']);
    assert.deepEqual(t.ingress('x'), ['10.44.0.1']);
    assert.deepEqual(t.ingress('dup'), ['10.44.0.2']);
  });

  it('reports a full pool and recovers when an address frees up', async () => {
    const t = await setup({ pool: '10.44.0.1/32' });
    await t.svc('a', { type: 'LoadBalancer' });
    await t.drain();
    await t.svc('b', { type: 'LoadBalancer' });
    await t.drain();
    assert.deepEqual(t.ingress('b'), []);
    assert.ok(t.reasons().includes('b:SyncLoadBalancerFailed'));
    await t.api.request('DELETE', '/api/v1/namespaces/default/services/a');
    await settle();
    await t.drain();
    assert.deepEqual(t.ingress('b'), ['10.44.0.1']);
  });
});
