// kube-proxy (src/proxy) against the real kernel, without containerd: a node
// network namespace with a bridge and two "pod" namespaces running busybox
// httpd; a selector-less Service and a hand-written EndpointSlice made with the
// real kubectl; startProxy() programs iptables inside the node namespace.
// Checks ClusterIP balancing from a pod and from the node, NodePort on the
// node's 127.0.0.1, ClientIP affinity, hairpin, refusal without endpoints,
// externalTrafficPolicy Local, and that stop() leaves the namespace clean.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { Registry } from 'prom-client';
import type { KubeObject } from '../../src/api/kind.js';
import { ApiClient } from '../../src/client/api.js';
import { loadKubeconfig } from '../../src/client/config.js';
import { Informer } from '../../src/client/informer.js';
import { ResourceClient } from '../../src/client/resource.js';
import { ref } from '../../src/client/resources.js';
import { startProxy, type Proxy } from '../../src/proxy/proxier.js';
import { eventually, run, startServer, type TestServer } from '../support/cluster.js';
import { canRunNetns, createPodNetwork, type PodNetwork } from '../support/podNetns.js';

const skip = canRunNetns();

function manifests(name: string, eps: { ip: string; node: string }[], extra: Record<string, unknown> = {}): string {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...extra } };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-manual`, namespace: 'default', labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'test.k8ts.io' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: true }, nodeName: e.node })),
  };
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [svc, slice] });
}

const until = <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> => eventually(fn, timeoutMs, what);

test('kube-proxy on iptables in a node netns', { skip, timeout: 180_000 }, async (t) => {
  let s: TestServer | undefined;
  let net: PodNetwork | undefined;
  let proxy: Proxy | undefined;
  const informers: Informer<any>[] = [];
  try {
    net = createPodNetwork({ pods: 2 });
    net.startHttpd(8080);
    const [a, b] = net.pods as [PodNetwork['pods'][0], PodNetwork['pods'][0]];
    s = await startServer();
    const api = new ApiClient(loadKubeconfig(s.kubeconfig));
    const services = new Informer<Service & KubeObject>(new ResourceClient(api, ref('', 'services')));
    const slices = new Informer<EndpointSlice & KubeObject>(new ResourceClient(api, ref('discovery.k8s.io', 'endpointslices')));
    informers.push(services, slices);
    await s.k(['apply', '-f', '-'], manifests('web', [{ ip: a.ip, node: 'node1' }, { ip: b.ip, node: 'node2' }]));
    // a new netns may inherit route_localnet=1 from the root one: start from 0 to see it restored
    net.exec(net.node, 'sysctl', ['-q', '-w', 'net.ipv4.conf.all.route_localnet=0']);
    const registry = new Registry();
    const started = startProxy({ services, endpointSlices: slices, nodeName: 'node1', nodeIPs: [net.gateway], clusterCidr: '10.42.0.0/16', serviceCidr: '10.43.0.0/16', chainPrefix: 'KTpt', log: pino({ level: 'warn' }), metrics: registry, netns: net.node });
    // informers started after startProxy() was called: both orders must work
    await Promise.all([services.start(), slices.start()]);
    proxy = await started;
    assert.ok(proxy.stats().fullSyncs >= 1);
    const vip = (await s.k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const nodePort = (await s.k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.ports[0].nodePort}'])).trim();
    const node = net.node;
    const curl = async (ns: string, url: string) => {
      const t0 = Date.now();
      const r = await run('ip', ['netns', 'exec', ns, 'curl', '-sS', '-m', '3', url], { timeoutMs: 10_000 });
      return { ...r, out: r.stdout.trim(), ms: Date.now() - t0 };
    };
    const spread = async (ns: string, url: string, n: number) => {
      const seen = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const r = await curl(ns, url);
        assert.equal(r.code, 0, `curl ${url} from ${ns}: ${r.stderr}`);
        seen.set(r.out, (seen.get(r.out) ?? 0) + 1);
      }
      return seen;
    };

    await t.test('ClusterIP from a pod spreads over both endpoints', async () => {
      const seen = await until('rules for the VIP', async () => {
        const m = await spread(a.ns, `http://${vip}/`, 20);
        return m.size === 2 ? m : undefined;
      });
      assert.deepEqual([...seen.keys()].sort(), ['pod-0', 'pod-1']);
    });

    await t.test('ClusterIP from the node itself (host → VIP, masqueraded)', async () => {
      const seen = await spread(node, `http://${vip}/`, 20);
      assert.deepEqual([...seen.keys()].sort(), ['pod-0', 'pod-1']);
    });

    await t.test('NodePort on the node address and on 127.0.0.1', async () => {
      const r = await curl(node, `http://127.0.0.1:${nodePort}/`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.out, /^pod-[01]$/);
      const g = await curl(a.ns, `http://${net!.gateway}:${nodePort}/`);
      assert.equal(g.code, 0, g.stderr);
    });

    await t.test('sessionAffinity ClientIP sticks to one endpoint', async () => {
      await s!.k(['patch', 'svc', 'web', '-p', JSON.stringify({ spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } })]);
      await until('affinity rules', async () => (await proxy!.stats()).syncs > 1 && (await run('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'nat'])).stdout.includes('--rcheck'));
      const seen = await spread(b.ns, `http://${vip}/`, 15);
      assert.equal(seen.size, 1, `affinity: ${JSON.stringify([...seen])}`);
      await s!.k(['patch', 'svc', 'web', '-p', JSON.stringify({ spec: { sessionAffinity: 'None' } })]);
    });

    await t.test('hairpin: a pod reaches itself through the VIP', async () => {
      await s!.k(['apply', '-f', '-'], manifests('web', [{ ip: a.ip, node: 'node1' }]));
      const r = await until('only pod-0 behind the VIP', async () => {
        const m = await spread(b.ns, `http://${vip}/`, 6);
        return m.size === 1 && m.has('pod-0') ? m : undefined;
      });
      assert.ok(r);
      const self = await curl(a.ns, `http://${vip}/`);
      assert.equal(self.code, 0, `hairpin: ${self.stderr}`);
      assert.equal(self.out, 'pod-0');
    });

    await t.test('externalTrafficPolicy Local: NodePort only to local endpoints, client address kept', async () => {
      // pod-1 is on "node2": with Local policy traffic from outside the cluster CIDR must not reach it
      await s!.k(['apply', '-f', '-'], manifests('web', [{ ip: b.ip, node: 'node2' }], { externalTrafficPolicy: 'Local' }));
      await until('Local policy rules', async () => (await run('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'filter'])).stdout.includes(`--dport ${nodePort}`));
      // from the node itself (a local source) it still answers via any endpoint
      const local = await curl(node, `http://127.0.0.1:${nodePort}/`);
      assert.equal(local.code, 0, local.stderr);
      assert.equal(local.out, 'pod-1');
      // from a pod it is cluster traffic too
      const fromPod = await curl(a.ns, `http://${net!.gateway}:${nodePort}/`);
      assert.equal(fromPod.code, 0, fromPod.stderr);
      // once the endpoint is on this node, the ClusterIP also still works
      await s!.k(['apply', '-f', '-'], manifests('web', [{ ip: b.ip, node: 'node1' }], { externalTrafficPolicy: 'Local' }));
      await until('local endpoint', async () => !(await run('ip', ['netns', 'exec', node, 'iptables-save', '-t', 'filter'])).stdout.includes(`--dport ${nodePort}`));
      const ok = await curl(a.ns, `http://${vip}/`);
      assert.equal(ok.out, 'pod-1');
    });

    await t.test('no endpoints: connections are refused at once', async () => {
      await s!.k(['apply', '-f', '-'], manifests('web', []));
      const r = await until('refusal', async () => {
        const x = await curl(a.ns, `http://${vip}/`);
        return x.code !== 0 ? x : undefined;
      });
      assert.equal(r.code, 7, `curl: ${r.stderr}`); // 7 = could not connect (refused), 28 would be a timeout
      assert.ok(r.ms < 1500, `refused in ${r.ms} ms`);
      const h = await curl(node, `http://127.0.0.1:${nodePort}/`);
      assert.equal(h.code, 7, h.stderr);
      // and routes again as soon as an endpoint is back
      const t0 = Date.now();
      await s!.k(['apply', '-f', '-'], manifests('web', [{ ip: a.ip, node: 'node1' }]));
      await until('endpoint back', async () => (await curl(a.ns, `http://${vip}/`)).out === 'pod-0');
      assert.ok(Date.now() - t0 < 3000);
    });

    await t.test('metrics and partial syncs', async () => {
      const st = proxy!.stats();
      assert.ok(st.partialSyncs >= 3, JSON.stringify(st));
      const text = await registry.metrics();
      assert.match(text, /kubeproxy_sync_proxy_rules_duration_seconds_count\{mode="partial"\} \d+/);
      assert.match(text, /kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/);
    });

    await t.test('stop() removes every chain and jump and restores route_localnet', async () => {
      await proxy!.stop();
      proxy = undefined;
      for (const table of ['nat', 'filter']) {
        const dump = (await run('ip', ['netns', 'exec', node, 'iptables-save', '-t', table])).stdout;
        assert.ok(!dump.includes('KTpt'), `${table} still has our rules:\n${dump}`);
      }
      const v = (await run('ip', ['netns', 'exec', node, 'sysctl', '-n', 'net.ipv4.conf.all.route_localnet'])).stdout.trim();
      assert.equal(v, '0');
    });
  } finally {
    await proxy?.stop().catch(() => {});
    for (const i of informers) i.stop();
    await s?.stop();
    net?.cleanup();
  }
});
