// Two containerd nodes, each `k8ts agent` in a network namespace this test makes
// (test/support/netnsCluster.ts), one `k8ts server` in the root netns, the real
// kubectl. Proves the pod network across nodes (host-gw routes between podCIDRs)
// and Services across nodes: pod-to-pod, pod-to-Service with the only endpoint on
// the other node, cluster DNS on a second node, NodePort on both node addresses,
// externalTrafficPolicy Local (client IP kept; no answer without a local
// endpoint), LoadBalancer ingress = the node addresses.
// Needs root + containerd + runc + CNI plugins + skopeo + busybox-static + nsenter.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { eventually, run } from '../support/cluster.js';
import { netnsSkipReason, startNetnsCluster, type NetnsCluster } from '../support/netnsCluster.js';

const skip = netnsSkipReason();

/** busybox httpd gives CGI the peer as "[::ffff:a.b.c.d]" (it listens on IPv6) */
const peer = (s: string) => s.trim().replace(/^\[(::ffff:)?|\]$/g, '');

/** busybox httpd on :8080 answering / with the pod name and /cgi-bin/ip with the peer address */
const webPod = (name: string, node: string, image: string, labels: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: {
    nodeName: node,
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'web',
        image,
        command: [
          'sh',
          '-c',
          'mkdir -p /srv/cgi-bin && hostname > /srv/index.html && printf \'#!/bin/sh\\nprintf "Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n%%s\\\\n" "$REMOTE_ADDR"\\n\' > /srv/cgi-bin/ip && chmod +x /srv/cgi-bin/ip && exec httpd -f -p 8080 -h /srv',
        ],
        ports: [{ containerPort: 8080, name: 'http' }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      },
    ],
  },
});

const clientPod = (name: string, node: string, image: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'client' } },
  spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '3600'] }] },
});

describe('two nodes, each in its own network namespace', { skip, timeout: 300_000 }, () => {
  let c: NetnsCluster;
  const pods: Record<string, any> = {};

  const k = (args: string[] | string, input?: string) => c.s.k(args, input);
  /** curl from the root netns (the nodes' network exists only between this test's namespaces) */
  const curl = (url: string, maxTime = 5) => run('curl', ['-s', '--max-time', String(maxTime), url], { timeoutMs: (maxTime + 5) * 1000 });
  const execIn = (pod: string, cmd: string[], timeoutMs = 15_000) => c.s.kubectl(['exec', pod, '--', ...cmd], { timeoutMs });
  const ready = (name: string) =>
    eventually(async () => {
      const p = JSON.parse(await k(['get', 'pod', name, '-o', 'json']));
      return p.status?.conditions?.find((x: { type: string }) => x.type === 'Ready')?.status === 'True' ? p : undefined;
    }, 60_000, `${name} Ready`);

  before(async () => {
    c = await startNetnsCluster({ nodes: 2 });
    const items = [
      webPod('web-1', 'node-1', c.image, { app: 'web', at: 'n1' }),
      webPod('web-2', 'node-2', c.image, { app: 'web', at: 'n2' }),
      clientPod('client-1', 'node-1', c.image),
      clientPod('client-2', 'node-2', c.image),
    ];
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    for (const p of ['web-1', 'web-2', 'client-1', 'client-2']) pods[p] = await ready(p);
  });

  after(async () => {
    if (!c) return;
    const left = await c.teardown();
    assert.deepEqual(left, [], `left behind:\n${left.join('\n')}`);
  });

  it('both nodes are Ready with distinct podCIDRs and their netns addresses', async () => {
    const nodes = await c.nodeObjects();
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ['node-1', 'node-2']);
    const cidrs = nodes.map((n) => n.spec.podCIDR);
    assert.equal(new Set(cidrs).size, 2, `podCIDRs ${cidrs}`);
    for (const n of nodes) {
      const ip = n.status.addresses.find((a: { type: string }) => a.type === 'InternalIP')?.address;
      assert.equal(ip, c.nodes.find((x) => x.name === n.metadata.name)!.ip);
    }
    // each node routes the other's podCIDR via the other's address (host-gw)
    for (const [i, other] of [[1, nodes.find((n) => n.metadata.name === 'node-2')], [2, nodes.find((n) => n.metadata.name === 'node-1')]] as const) {
      const r = await c.inNode(i, 'ip', ['route', 'show', other.spec.podCIDR]);
      assert.match(r.stdout, new RegExp(`via ${other.status.addresses.find((a: { type: string }) => a.type === 'InternalIP').address.replace(/\./g, '\\.')}`), `node-${i} routes: ${r.stdout}`);
    }
    // pods got addresses from their own node's range
    const inCidr = (ip: string, cidr: string) => ip.startsWith(cidr.split('/')[0]!.replace(/\.0$/, '.'));
    assert.ok(inCidr(pods['web-1'].status.podIP, nodes.find((n) => n.metadata.name === 'node-1').spec.podCIDR));
    assert.ok(inCidr(pods['web-2'].status.podIP, nodes.find((n) => n.metadata.name === 'node-2').spec.podCIDR));
  });

  it('a pod reaches a pod on the other node by its IP, with its own IP as the source', async () => {
    for (const [from, to] of [['client-1', 'web-2'], ['client-2', 'web-1']]) {
      const r = await execIn(from, ['timeout', '5', 'wget', '-qO-', `http://${pods[to].status.podIP}:8080/`]);
      assert.equal(r.code, 0, `${from} → ${to}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), to);
      // no NAT between pods: the server sees the client pod's own address
      const ip = await execIn(from, ['timeout', '5', 'wget', '-qO-', `http://${pods[to].status.podIP}:8080/cgi-bin/ip`]);
      assert.equal(peer(ip.stdout), pods[from].status.podIP);
    }
  });

  it('kubectl logs and exec reach pods on both nodes (the apiserver dials each node address)', async () => {
    for (const p of ['client-1', 'client-2']) {
      const r = await execIn(p, ['hostname']);
      assert.equal(r.stdout.trim(), p);
    }
    const logs = await c.s.kubectl(['logs', 'web-2']);
    assert.equal(logs.code, 0, logs.stderr);
    // the kubelet API listens on the node address (--node-ip) only
    const n1 = (await c.nodeObjects()).find((n) => n.metadata.name === 'node-1');
    const port = n1.status.daemonEndpoints.kubeletEndpoint.Port;
    const onIp = await c.inNode(1, 'curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', `https://${c.nodes[0]!.ip}:${port}/healthz`]);
    assert.equal(onIp.code, 0, `kubelet on ${c.nodes[0]!.ip}:${port}: ${onIp.stderr}`);
    const onLo = await c.inNode(1, 'curl', ['-sk', '-o', '/dev/null', '--max-time', '5', `https://127.0.0.1:${port}/healthz`]);
    assert.equal(onLo.code, 7, 'connection refused on 127.0.0.1');
  });

  it('a pod reaches a Service whose only endpoint is on the other node', async () => {
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web2' }, spec: { selector: { at: 'n2' }, ports: [{ port: 80, targetPort: 8080 }] } }));
    const vip = JSON.parse(await k(['get', 'svc', 'web2', '-o', 'json'])).spec.clusterIP;
    let last = '';
    const out = await eventually(async () => {
      const r = await execIn('client-1', ['timeout', '5', 'wget', '-qO-', `http://${vip}/`]);
      last = `${r.code} ${r.stderr}`;
      return r.code === 0 ? r.stdout : undefined;
    }, 15_000, 'client-1 → web2 VIP').catch((e) => assert.fail(`${(e as Error).message}: ${last}`));
    assert.equal(out.trim(), 'web-2');
    // by name too: node-1's own DNS server answers for the cluster
    const byName = await execIn('client-1', ['timeout', '5', 'wget', '-qO-', 'http://web2.default.svc.cluster.local/']);
    assert.equal(byName.stdout.trim(), 'web-2', byName.stderr);
  });

  it('cluster DNS answers a pod on the second node (its node-local kube-dns endpoint)', async () => {
    const vip = JSON.parse(await k(['get', 'svc', 'web2', '-o', 'json'])).spec.clusterIP;
    const slices = JSON.parse(await k(['get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=kube-dns', '-o', 'json'])).items;
    assert.deepEqual(slices.map((x: any) => x.endpoints?.[0]?.nodeName).sort(), ['node-1', 'node-2'], 'one kube-dns endpoint per node');
    let last = '';
    const out = await eventually(async () => {
      const r = await execIn('client-2', ['nslookup', 'web2']);
      last = `${r.code} ${r.stdout} ${r.stderr}`;
      // busybox nslookup also asks AAAA along the search path and exits 1 when those find nothing: look at the answer
      return r.stdout.includes(`Address: ${vip}`) ? r.stdout : undefined;
    }, 15_000, 'nslookup web2 on node-2').catch((e) => assert.fail(`${(e as Error).message}: ${last}`));
    assert.match(out, /web2\.default\.svc\.cluster\.local/);
    // (a full name: busybox asks "kubernetes.default." as-is first, and with no upstream resolver that is REFUSED, which ends its search)
    const api = await execIn('client-2', ['nslookup', 'kubernetes.default.svc.cluster.local']);
    assert.match(api.stdout, /10\.43\.0\.1\b/, api.stdout + api.stderr);
    const missing = await execIn('client-2', ['nslookup', 'no-such-svc.default.svc.cluster.local']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout + missing.stderr, /NXDOMAIN|can't find/);
  });

  it('a NodePort answers on both node addresses from outside the nodes, reaching both pods', async () => {
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-np' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }));
    const np = JSON.parse(await k(['get', 'svc', 'web-np', '-o', 'json'])).spec.ports[0].nodePort;
    assert.ok(np >= 30000 && np <= 32767, String(np));
    for (const n of c.nodes) {
      const seen = new Set<string>();
      // both replicas answer through either node (Cluster policy: the other node's pod over host-gw)
      await eventually(async () => {
        const r = await curl(`http://${n.ip}:${np}/`);
        if (r.code === 0) seen.add(r.stdout.trim());
        return seen.size === 2;
      }, 20_000, `NodePort ${n.ip}:${np} reaching web-1 and web-2 (saw ${[...seen]})`);
    }
    // and on the node's own 127.0.0.1
    const local = await c.inNode(2, 'curl', ['-s', '--max-time', '5', `http://127.0.0.1:${np}/`]);
    assert.match(local.stdout.trim(), /^web-[12]$/, local.stderr);
  });

  it('externalTrafficPolicy Local keeps the client address and is not answered on a node without an endpoint', async () => {
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-local' }, spec: { type: 'NodePort', externalTrafficPolicy: 'Local', selector: { at: 'n2' }, ports: [{ port: 80, targetPort: 8080 }] } }));
    const np = JSON.parse(await k(['get', 'svc', 'web-local', '-o', 'json'])).spec.ports[0].nodePort;
    const [n1, n2] = c.nodes;
    const out = await eventually(async () => {
      const r = await curl(`http://${n2!.ip}:${np}/cgi-bin/ip`);
      return r.code === 0 ? r.stdout : undefined;
    }, 20_000, 'Local NodePort on node-2');
    assert.equal(peer(out), c.hostIP, 'the pod sees the real client address');
    const r = await curl(`http://${n1!.ip}:${np}/`, 3);
    assert.notEqual(r.code, 0, `node-1 has no local endpoint but answered: ${r.stdout}`);
    // Cluster policy through the other node: masqueraded (the pod sees node-1, not the client)
    await k(['patch', 'svc', 'web-local', '--type=merge', '-p', '{"spec":{"externalTrafficPolicy":"Cluster"}}']);
    const via1 = await eventually(async () => {
      const x = await curl(`http://${n1!.ip}:${np}/cgi-bin/ip`);
      return x.code === 0 ? x.stdout : undefined;
    }, 20_000, 'Cluster NodePort on node-1');
    assert.equal(peer(via1), n1!.ip);
  });

  it('a LoadBalancer Service gets the node addresses as ingress and answers on them', async () => {
    const port = 18000 + (randomBytes(2).readUInt16BE() % 1000);
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-lb' }, spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port, targetPort: 8080 }] } }));
    const ingress = await eventually(async () => {
      const svc = JSON.parse(await k(['get', 'svc', 'web-lb', '-o', 'json']));
      const ips = (svc.status?.loadBalancer?.ingress ?? []).map((i: { ip: string }) => i.ip).sort();
      return ips.length === 2 ? ips : undefined;
    }, 20_000, 'LoadBalancer ingress');
    assert.deepEqual(ingress, c.nodes.map((n) => n.ip).sort());
    for (const ip of ingress) {
      const out = await eventually(async () => {
        const r = await curl(`http://${ip}:${port}/`);
        return r.code === 0 ? r.stdout : undefined;
      }, 20_000, `LB ${ip}:${port}`);
      assert.match(out.trim(), /^web-[12]$/);
    }
  });
});
