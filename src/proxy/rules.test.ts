import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { EndpointsMap, portKey, usableEndpoints, type Endpoint } from './endpointsMap.js';
import { hashName, jumps, restoreText, servicePortRules, type RuleContext, bucketDispatch } from './rules.js';
import { servicePortsOf, type ServicePort } from './serviceMap.js';
import { conntrackDeletes } from './conntrack.js';

const ctx: RuleContext = { prefix: 'KTt', clusterCidr: '10.42.0.0/16', nodeName: 'n1' };

function svc(spec: Service['spec'], status?: Service['status']): Service & { metadata: { namespace: string; name: string } } {
  return { metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec }, status };
}
const ep = (ip: string, o: Partial<Endpoint> = {}): Endpoint => ({ ip, port: 8080, ready: true, serving: true, terminating: false, nodeName: 'n1', ...o });
const one = (s: Service) => {
  const p = servicePortsOf(s);
  assert.equal(p.length, 1);
  return p[0]!;
};
const all = (r: ReturnType<typeof servicePortRules>) => [...r.chains.values()].flat().concat(r.services, r.external, r.nodePorts, r.filter).join('\n');

test('servicePortsOf: ClusterIP, headless, ExternalName, NodePort, LB', () => {
  assert.deepEqual(servicePortsOf(svc({ clusterIP: 'None' })), []);
  assert.deepEqual(servicePortsOf(svc({ type: 'ExternalName', externalName: 'x.example', clusterIP: undefined })), []);
  const p = one(svc({}));
  assert.equal(p.id, 'default/web:http/TCP');
  assert.equal(p.nodePort, 0);
  const lb = one(svc({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 31000 }] }, { loadBalancer: { ingress: [{ ip: '192.168.5.5' }, { hostname: 'x' }] } }));
  assert.equal(lb.nodePort, 31000);
  assert.deepEqual(lb.loadBalancerIPs, ['192.168.5.5']);
  assert.equal(lb.localLoadBalancer, true);
  assert.equal(one(svc({ type: 'LoadBalancer', loadBalancerClass: 'other.io/lb' })).localLoadBalancer, false);
  assert.equal(one(svc({ sessionAffinity: 'ClientIP' })).affinitySeconds, 10800);
  assert.equal(one(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } })).affinitySeconds, 60);
});

test('ClusterIP: random balancing 1/(n-i), host traffic masqueraded, hairpin', () => {
  const r = servicePortRules(one(svc({})), [ep('10.42.0.3'), ep('10.42.0.4'), ep('10.42.0.5')], ctx);
  const svcChain = `KTt-SVC-${hashName('default/web:http/TCP')}`;
  assert.deepEqual(r.services, [`-A KTt-SERVICES -d 10.43.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http/TCP" -j ${svcChain}`]);
  assert.deepEqual([...r.chains.keys()], [svcChain]);
  assert.deepEqual(r.chains.get(svcChain), [
    `-A ${svcChain} ! -s 10.42.0.0/16 -d 10.43.0.20/32 -p tcp -m tcp --dport 80 -j KTt-MARK-MASQ`,
    `-A ${svcChain} -s 10.42.0.3/32 -j KTt-MARK-MASQ`,
    `-A ${svcChain} -s 10.42.0.4/32 -j KTt-MARK-MASQ`,
    `-A ${svcChain} -s 10.42.0.5/32 -j KTt-MARK-MASQ`,
    `-A ${svcChain} -p tcp -m statistic --mode random --probability 0.3333333333 -j DNAT --to-destination 10.42.0.3:8080`,
    `-A ${svcChain} -p tcp -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination 10.42.0.4:8080`,
    `-A ${svcChain} -p tcp -j DNAT --to-destination 10.42.0.5:8080`,
  ]);
  assert.deepEqual(r.filter, []);
  for (const c of r.chains.keys()) assert.ok(c.length <= 28, c);
});

test('no endpoints: REJECT in filter (tcp-reset / icmp), no nat jump', () => {
  const r = servicePortRules(one(svc({})), [], ctx);
  assert.deepEqual(r.services, []);
  assert.equal(r.chains.size, 0);
  assert.deepEqual(r.filter, ['-A KTt-SERVICES -d 10.43.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http/TCP" -j REJECT --reject-with tcp-reset']);
  const u = servicePortRules(one(svc({ ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })), [], ctx);
  assert.match(u.filter[0]!, /-p udp -m udp --dport 53 .* -j REJECT --reject-with icmp-port-unreachable$/);
});

test('terminating endpoints are a fallback only', () => {
  const eps = [ep('10.42.0.3', { ready: false, serving: true, terminating: true }), ep('10.42.0.4')];
  assert.deepEqual(usableEndpoints(eps).map((e) => e.ip), ['10.42.0.4']);
  assert.deepEqual(usableEndpoints([eps[0]!, ep('10.42.0.9', { ready: false, serving: false, terminating: true })]).map((e) => e.ip), ['10.42.0.3']);
  const r = servicePortRules(one(svc({})), [eps[0]!], ctx);
  assert.equal(r.services.length, 1);
  assert.match(all(r), /DNAT --to-destination 10\.42\.0\.3:8080/);
});

test('NodePort, Cluster policy: masquerade then all endpoints; LB IPs and servicelb local port', () => {
  const sp = one(svc({ type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 31000 }], externalIPs: ['192.168.9.9'] }, { loadBalancer: { ingress: [{ ip: '192.168.5.5' }] } }));
  const r = servicePortRules(sp, [ep('10.42.0.3'), ep('10.42.1.3', { nodeName: 'n2' })], ctx);
  const ext = [...r.chains.keys()].find((c) => c.includes('-EXT-'))!;
  const svcChain = [...r.chains.keys()].find((c) => c.includes('-SVC-'))!;
  assert.deepEqual(r.chains.get(ext), [`-A ${ext} -j KTt-MARK-MASQ`, `-A ${ext} -j ${svcChain}`]);
  assert.deepEqual(r.nodePorts, [
    `-A KTt-NODEPORTS -p tcp -m tcp --dport 31000 -m comment --comment "default/web:http/TCP" -j ${ext}`,
    `-A KTt-NODEPORTS -p tcp -m tcp --dport 80 -m comment --comment "default/web:http/TCP" -j ${ext}`,
  ]);
  assert.deepEqual(
    r.external.map((l) => l.split(' ')[3]),
    ['192.168.9.9/32', '192.168.5.5/32'],
  );
  // with a loadBalancerClass the port does not open on local addresses
  const c = servicePortRules(one(svc({ type: 'LoadBalancer', loadBalancerClass: 'x/y', ports: [{ name: 'http', port: 80, nodePort: 31000 }] })), [ep('10.42.0.3')], ctx);
  assert.equal(c.nodePorts.length, 1);
});

test('externalTrafficPolicy Local: no SNAT for outside clients, local endpoints only, DROP when none local', () => {
  const sp = one(svc({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 31001 }] }));
  const r = servicePortRules(sp, [ep('10.42.0.3'), ep('10.42.1.3', { nodeName: 'n2' })], ctx);
  const ext = [...r.chains.keys()].find((c) => c.includes('-EXT-'))!;
  const svl = [...r.chains.keys()].find((c) => c.includes('-SVL-'))!;
  const lines = r.chains.get(ext)!;
  assert.match(lines[0]!, / -s 10\.42\.0\.0\/16 -j KTt-SVC-/);
  assert.match(lines[1]!, /--src-type LOCAL -j KTt-MARK-MASQ/);
  assert.equal(lines[3], `-A ${ext} -j ${svl}`);
  assert.ok(!lines.some((l) => l === `-A ${ext} -j KTt-MARK-MASQ`));
  assert.deepEqual(r.chains.get(svl), [`-A ${svl} -s 10.42.0.3/32 -j KTt-MARK-MASQ`, `-A ${svl} -p tcp -j DNAT --to-destination 10.42.0.3:8080`]); // one local endpoint, no statistic
  const none = servicePortRules(sp, [ep('10.42.1.3', { nodeName: 'n2' })], ctx);
  assert.deepEqual(none.filter, ['-A KTt-SERVICES -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 31001 -m comment --comment "default/web:http/TCP" -j DROP']);
  assert.ok(!all(none).includes('-SVL-'));
  assert.equal(none.services.length, 1, 'ClusterIP still reaches the remote endpoint');
});

test('internalTrafficPolicy Local: ClusterIP to local endpoints only, DROP when none local', () => {
  const sp = one(svc({ internalTrafficPolicy: 'Local' }));
  const r = servicePortRules(sp, [ep('10.42.0.3'), ep('10.42.1.3', { nodeName: 'n2' })], ctx);
  assert.match(r.services[0]!, /-j KTt-SVL-/);
  assert.ok(![...r.chains.keys()].some((c) => c.includes('-SVC-')));
  assert.ok(!all(r).includes('10.42.1.3'));
  const none = servicePortRules(sp, [ep('10.42.1.3', { nodeName: 'n2' })], ctx);
  assert.deepEqual(none.services, []);
  assert.match(none.filter[0]!, /-d 10\.43\.0\.20\/32 .* -j DROP$/);
});

test('sessionAffinity ClientIP: recent rcheck in the service chain, set in the endpoint chain', () => {
  const r = servicePortRules(one(svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 77 } } })), [ep('10.42.0.3'), ep('10.42.0.4')], ctx);
  const svcChain = [...r.chains.keys()].find((c) => c.includes('-SVC-'))!;
  const lines = r.chains.get(svcChain)!;
  const n3 = `KTt-SEP-${hashName('default/web:http/TCP|10.42.0.3:8080')}`;
  const n4 = `KTt-SEP-${hashName('default/web:http/TCP|10.42.0.4:8080')}`;
  assert.deepEqual(lines.slice(3), [
    `-A ${svcChain} -p tcp -m recent --name ${n3} --mask 255.255.255.255 --rsource --rcheck --seconds 77 --reap -j DNAT --to-destination 10.42.0.3:8080`,
    `-A ${svcChain} -p tcp -m recent --name ${n4} --mask 255.255.255.255 --rsource --rcheck --seconds 77 --reap -j DNAT --to-destination 10.42.0.4:8080`,
    `-A ${svcChain} -p tcp -m statistic --mode random --probability 0.5000000000 -m recent --name ${n3} --mask 255.255.255.255 --rsource --set -j DNAT --to-destination 10.42.0.3:8080`,
    `-A ${svcChain} -p tcp -m recent --name ${n4} --mask 255.255.255.255 --rsource --set -j DNAT --to-destination 10.42.0.4:8080`,
  ]);
});

test('restoreText: declares dispatch + written chains, deletes removed ones after flushing', () => {
  const r = servicePortRules(one(svc({})), [ep('10.42.0.3')], ctx);
  const { text, filterRules } = restoreText({ ctx, all: [r], write: r.chains, remove: ['KTt-SEP-OLD'] });
  assert.match(text, /^\*nat\n:KTt-SERVICES - \[0:0\]\n/);
  assert.match(text, /\n:KTt-SEP-OLD - \[0:0\]\n/);
  assert.match(text, /\n-X KTt-SEP-OLD\nCOMMIT\n\*filter\n:KTt-SERVICES - \[0:0\]\nCOMMIT\n$/);
  assert.match(text, /-A KTt-POSTROUTING -s 10\.42\.0\.0\/16 ! -d 10\.42\.0\.0\/16 .*-j MASQUERADE/);
  assert.match(text, /-A KTt-POSTROUTING -s 127\.0\.0\.0\/8 ! -o lo -j MASQUERADE/);
  assert.equal(filterRules, 0);
  const j = jumps(ctx);
  assert.ok(j.some((x) => x.chain === 'PREROUTING' && x.rule.join(' ').startsWith('-s 10.42.0.0/16') && x.rule.at(-1) === 'KTt-SERVICES'));
  assert.ok(j.some((x) => x.chain === 'OUTPUT' && x.table === 'nat' && x.rule.includes('LOCAL') && x.rule.at(-1) === 'KTt-NODEPORTS'));
});

test('EndpointsMap: merges slices per service, ports by name/protocol, follows label moves', () => {
  const m = new EndpointsMap();
  const slice = (name: string, svcName: string, ips: string[], extra: Partial<EndpointSlice> = {}): EndpointSlice & { metadata: any } => ({
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'n1' })),
    ...extra,
  });
  assert.deepEqual(m.upsert(slice('web-a', 'web', ['10.42.0.9', '10.42.0.10'])), ['default/web']);
  m.upsert(slice('web-b', 'web', ['10.42.0.3', '10.42.0.9']));
  assert.deepEqual(m.endpointsOf('default/web').get(portKey('http', 'TCP'))!.map((e) => e.ip), ['10.42.0.3', '10.42.0.9', '10.42.0.10']);
  assert.deepEqual(m.upsert(slice('web-b', 'other', ['10.42.0.3'])).sort(), ['default/other', 'default/web']);
  assert.deepEqual(m.remove('default/web-a'), ['default/web']);
  assert.equal(m.endpointsOf('default/web').size, 0);
  assert.deepEqual(m.upsert(slice('v6', 'web', ['fd00::1'], { addressType: 'IPv6' })), []);
});

test('conntrack deletes for UDP endpoint changes', () => {
  assert.deepEqual(conntrackDeletes({ vips: ['10.43.0.10'], port: 53, nodePort: 0, removed: ['10.42.0.5'], gotEndpoints: false }), [['-D', '-p', 'udp', '--orig-dst', '10.43.0.10', '--dst-nat', '10.42.0.5']]);
  assert.deepEqual(conntrackDeletes({ vips: ['10.43.0.10'], port: 53, nodePort: 30053, removed: [], gotEndpoints: true }), [
    ['-D', '-p', 'udp', '--orig-dst', '10.43.0.10', '--orig-port-dst', '53'],
    ['-D', '-p', 'udp', '--orig-port-dst', '30053'],
  ]);
});

// the type is used by tests below only through helpers
export type _SP = ServicePort;

test('bucketDispatch: many ClusterIPs go through /20 and /24 chains; stale buckets are removed', () => {
  const lines = Array.from({ length: 200 }, (_, i) => `-A KTt-SERVICES -d 10.43.${i}.7/32 -p tcp -m tcp --dport 80 -j KTt-SVC-X${i}`);
  const few = bucketDispatch('KTt', lines.slice(0, 10));
  assert.deepEqual(few.top, lines.slice(0, 10));
  assert.equal(few.chains.size, 0);
  const { top, chains } = bucketDispatch('KTt', [...lines, '-A KTt-SERVICES -d fd00::1/128 -p tcp -m tcp --dport 80 -j KTt-SVC-V6']);
  // 200 /24s → 13 /20 buckets in P-SERVICES, plus the IPv6 rule left flat
  assert.equal(top.filter((l) => l.includes('-SV20-')).length, 13);
  assert.ok(top.includes('-A KTt-SERVICES -d fd00::1/128 -p tcp -m tcp --dport 80 -j KTt-SVC-V6'));
  assert.ok(top.includes('-A KTt-SERVICES -d 10.43.16.0/20 -j KTt-SV20-0A2B10'));
  assert.deepEqual(chains.get('KTt-SV20-0A2B10')?.[1], '-A KTt-SV20-0A2B10 -d 10.43.17.0/24 -j KTt-SV24-0A2B11');
  assert.deepEqual(chains.get('KTt-SV24-0A2B11'), ['-A KTt-SV24-0A2B11 -d 10.43.17.7/32 -p tcp -m tcp --dport 80 -j KTt-SVC-X17']);
  // restoreText: a bucket of the previous sync that is gone is declared (flushed) and deleted
  const ctx = { prefix: 'KTt', clusterCidr: '10.42.0.0/16', nodeName: 'n1' };
  const rules = lines.map((l, i) => ({ id: String(i), chains: new Map(), services: [l], external: [], nodePorts: [], filter: [], endpointIPs: [] }));
  const out = restoreText({ ctx, all: rules, write: new Map(), remove: [], buckets: new Set(['KTt-SV24-0A2BFF', 'KTt-SV24-0A2B11']) });
  assert.ok(out.buckets.has('KTt-SV24-0A2B11'));
  assert.match(out.text, /\n-X KTt-SV24-0A2BFF\n/);
  assert.doesNotMatch(out.text, /-X KTt-SV24-0A2B11/);
});
