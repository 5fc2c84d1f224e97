// Services on one real containerd node, driven by the real kubectl: the node
// agent's kube-proxy (iptables) and cluster DNS answer pods and the host.
// ClusterIP by name (web, web.default, web.default.svc.cluster.local) with
// load spread, ClientIP affinity, refusal at zero endpoints and routing again
// right after a pod turns Ready; hairpin; DNS records (kubernetes, headless,
// StatefulSet pod names, ExternalName, NXDOMAIN); NodePort and LoadBalancer on
// 127.0.0.1; UDP; kubectl port-forward svc/…; and a clean host afterwards.
// Needs root + containerd + runc + CNI plugins + skopeo + busybox-static + iptables.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { eventually, run, type TestServer } from '../support/cluster.js';
import { busyboxAvailable } from '../support/images.js';
import { criSkipReason } from '../support/criNode.js';
import { startAgentNode, type AgentNode } from '../support/agentNode.js';
import { gatewayOf } from '../../src/kubelet/cni.js';
import { chainPrefixFor } from '../../src/kubelet/serviceNetwork.js';
import { serviceSinkName } from '../../src/kubelet/serviceRoute.js';

const haveIptables = (() => {
  try {
    execFileSync('iptables-save', ['-t', 'nat'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip =
  criSkipReason() ??
  (!busyboxAvailable() ? 'services tests skipped: needs /usr/bin/busybox (busybox-static)' : !existsSync('/usr/bin/skopeo') ? 'services tests skipped: needs skopeo' : !haveIptables ? 'services tests skipped: needs iptables' : undefined);

const uptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
const iptablesSave = () => execFileSync('iptables-save', { encoding: 'utf8' });
/** stdout of a command, '' when it fails */
const run0 = (cmd: string, args: string[]) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
};

describe('Services on a containerd node (kube-proxy + cluster DNS)', { skip, timeout: 600_000 }, () => {
  let agent: AgentNode;
  let s: TestServer;
  let image = '';
  let nodeName = '';
  let gateway = '';
  // distinctive ports: other tests share the root netns (and 127.0.0.1)
  const nodePort = randomInt(31000, 32700);
  const udpNodePort = nodePort + 1;
  const lbPort = randomInt(18000, 19000);
  const children: ChildProcess[] = [];

  /** runs sh -c CMD in a pod; never throws */
  const exec = (pod: string, cmd: string, timeoutMs = 30_000) => s.kubectl(['exec', pod, '--', 'sh', '-c', cmd], { timeoutMs });
  const mustExec = async (pod: string, cmd: string) => {
    const r = await exec(pod, cmd);
    if (r.code !== 0) throw new Error(`${pod}: ${cmd} → ${r.code}\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const readyPods = async (selector: string) =>
    JSON.parse(await s.k(['get', 'pods', '-l', selector, '-o', 'json'])).items.filter(
      (p: any) => !p.metadata.deletionTimestamp && p.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True',
    );
  const waitReady = (selector: string, n: number, ms = 60_000) => eventually(async () => {
    const l = await readyPods(selector);
    return l.length === n ? l : undefined;
  }, ms, `${n} ready pods ${selector}`);
  /** the endpoints of a service, as its EndpointSlices list them (ready ones) */
  const readyEndpoints = async (svc: string, ns = 'default') => {
    const slices = JSON.parse(await s.k(['get', 'endpointslices', '-n', ns, '-l', `kubernetes.io/service-name=${svc}`, '-o', 'json'])).items;
    return slices.flatMap((sl: any) => (sl.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).flatMap((e: any) => e.addresses));
  };
  /** hostnames answered by N requests to URL from a pod */
  const hits = async (pod: string, url: string, n: number) => {
    const out = await mustExec(pod, `for i in $(seq ${n}); do timeout 5 wget -qO- ${url} || echo FAIL; done`);
    return out.trim().split('\n');
  };
  const curl = (url: string) => run('curl', ['-s', '--max-time', '5', url], { timeoutMs: 10_000 });

  const httpdCmd = 'mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 8080 -h /w';
  const httpdContainer = () => ({
    name: 'httpd',
    image,
    command: ['sh', '-c', httpdCmd],
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
  });

  before(async () => {
    agent = await startAgentNode({ cidrRange: [250, 251], bridgePrefix: 'ksv' });
    ({ s, image } = agent);
    nodeName = agent.node.metadata.name;
    gateway = gatewayOf(agent.podCIDR);
    const web = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 1, containers: [httpdContainer()] } },
      },
    };
    const client = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '3600'] }] } };
    const hp = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hp', labels: { app: 'hp' } }, spec: { terminationGracePeriodSeconds: 1, containers: [httpdContainer()] } };
    // (not named like the pod: the pod's own /etc/hosts maps its hostname to its IP)
    const hpSvc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'self' }, spec: { selector: { app: 'hp' }, ports: [{ port: 80, targetPort: 8080 }] } };
    const headless = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-h' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 8080 }] } };
    const dbH = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db-h' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'http', port: 8080 }] } };
    const db = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        serviceName: 'db-h',
        replicas: 2,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { terminationGracePeriodSeconds: 1, containers: [httpdContainer()] } },
      },
    };
    const ext = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' } };
    const np = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-np' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080, nodePort }] } };
    // UDP through the proxy to a real UDP server: this node's DNS, by a selector-less NodePort Service and a hand-made slice
    const dnsNp = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'dns-np' }, spec: { type: 'NodePort', ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: udpNodePort }] } };
    const dnsNpSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'dns-np-1', labels: { 'kubernetes.io/service-name': 'dns-np' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [gateway], conditions: { ready: true } }],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
    };
    await s.k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [web, client, hp, hpSvc, headless, dbH, db, ext, np, dnsNp, dnsNpSlice] }));
    await s.k(['expose', 'deployment', 'web', '--port', '80', '--target-port', '8080']);
    await s.k(['expose', 'deployment', 'web', '--name', 'web-lb', '--type', 'LoadBalancer', '--port', String(lbPort), '--target-port', '8080']);
    await waitReady('app=web', 3, 90_000);
    await waitReady('app=db', 2, 60_000);
    await eventually(async () => (await s.k(['get', 'pod', 'client', '-o', 'jsonpath={.status.phase}'])) === 'Running', 60_000, 'client Running');
    await waitReady('app=hp', 1);
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (!agent) return;
    if (process.env.K8TS_TEST_LOG) process.stderr.write(`--- server log (tail) ---\n${s.logs().slice(-8000)}\n`);
    // debugging aid: K8TS_TEST_PAUSE=FILE keeps the cluster up until FILE exists (10 min at most)
    const pause = process.env.K8TS_TEST_PAUSE;
    if (pause) {
      process.stderr.write(`paused: KUBECONFIG=${s.kubeconfig}; touch ${pause} to go on\n`);
      for (let i = 0; i < 600 && !existsSync(pause); i++) await new Promise((r) => setTimeout(r, 1000));
    }
    const prefix = chainPrefixFor(nodeName, agent.bridge);
    // the controllers go first, or they would bring back the pods the teardown deletes
    await s.kubectl(['delete', 'deployments,replicasets,statefulsets', '--all', '--cascade=orphan'], { timeoutMs: 30_000 });
    const left = await agent.teardown({ timeoutSec: 60 });
    assert.deepEqual(left, [], 'the agent left things behind');
    const rules = iptablesSave().split('\n').filter((l) => l.includes(prefix));
    assert.deepEqual(rules, [], `iptables rules/chains with ${prefix} left behind`);
    const sink = serviceSinkName(nodeName, agent.bridge);
    assert.equal(run0('ip', ['-o', 'link', 'show', 'dev', sink]), '', `the service CIDR sink ${sink} is left behind`);
  });

  it('the node serves DNS on its bridge gateway and publishes it as kube-system/kube-dns-<node>', async () => {
    const svc = JSON.parse(await s.k(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'json']));
    assert.equal(svc.spec.clusterIP, '10.43.0.10');
    const slice = JSON.parse(await s.k(['get', 'endpointslice', '-n', 'kube-system', `kube-dns-${nodeName}`, '-o', 'json']));
    assert.equal(slice.metadata.labels['kubernetes.io/service-name'], 'kube-dns');
    assert.equal(slice.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'node-agent.k8ts.io');
    assert.deepEqual(slice.endpoints.map((e: any) => [e.addresses, e.nodeName, e.conditions.ready]), [[[gateway], nodeName, true]]);
    assert.deepEqual(slice.ports.map((p: any) => `${p.name}/${p.port}/${p.protocol}`).sort(), ['dns-tcp/53/TCP', 'dns/53/UDP']);
    // VIPs without rules stay on the machine: the service CIDR routes to this node's sink
    assert.match(run0('ip', ['-4', 'route', 'show', 'exact', '10.43.0.0/16']), new RegExp(`dev ${serviceSinkName(nodeName, agent.bridge)} `));
    // pods point at the cluster DNS
    const resolv = await mustExec('client', 'cat /etc/resolv.conf');
    assert.match(resolv, /nameserver 10\.43\.0\.10/);
    assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
    assert.match(resolv, /ndots:5/);
    // the proxy's and the DNS server's metrics are on the kubelet's /metrics
    const m = await s.k(['get', '--raw', `/api/v1/nodes/${nodeName}/proxy/metrics`]);
    assert.match(m, /^kubeproxy_sync_proxy_rules_duration_seconds_count(\{[^}]*\})? [1-9]/m);
    assert.match(m, /^kubeproxy_sync_proxy_rules_last_timestamp_seconds /m);
    assert.match(m, /^# TYPE k8ts_dns_requests_total counter/m);
  });

  it('a pod reaches the Service as web, web.default and web.default.svc.cluster.local; 30 requests spread over the 3 replicas', async () => {
    const names = new Set((await readyPods('app=web')).map((p: any) => p.metadata.name));
    assert.equal(names.size, 3);
    for (const host of ['web', 'web.default', 'web.default.svc.cluster.local']) {
      const body = await eventually(async () => {
        const r = await exec('client', `timeout 5 wget -qO- http://${host}/`);
        return r.code === 0 ? r.stdout.trim() : undefined;
      }, 20_000, `wget http://${host}`);
      assert.ok(names.has(body), `${host} answered ${body}`);
    }
    const answers = await hits('client', 'http://web/', 30);
    assert.ok(!answers.includes('FAIL'), answers.join(','));
    assert.deepEqual(new Set(answers), names, `30 requests reached ${[...new Set(answers)].join(',')}`);
  });

  it('sessionAffinity ClientIP sends every request of a client to one replica', async () => {
    await s.k(['patch', 'svc', 'web', '-p', JSON.stringify({ spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } })]);
    const answers = await eventually(async () => {
      const a = await hits('client', 'http://web/', 30);
      return new Set(a).size === 1 && !a.includes('FAIL') ? a : undefined;
    }, 15_000, 'affinity to one replica');
    assert.equal(answers.length, 30);
    await s.k(['patch', 'svc', 'web', '-p', JSON.stringify({ spec: { sessionAffinity: 'None', sessionAffinityConfig: null } })]);
    await eventually(async () => new Set(await hits('client', 'http://web/', 15)).size > 1, 15_000, 'spread again without affinity');
  });

  it('a pod reaches itself through its own Service (hairpin)', async () => {
    const body = await eventually(async () => {
      const r = await exec('hp', 'timeout 5 wget -qO- http://self/');
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 20_000, 'hairpin');
    assert.equal(body, 'hp');
  });

  it('nslookup: kubernetes.default, a headless Service, a StatefulSet pod, an ExternalName, a missing name', async () => {
    // busybox's nslookup (1.35) does not walk the search list (wget does): names are given in full
    const look = (name: string) => exec('client', `nslookup ${name}.default.svc.cluster.local`);
    const kube = await eventually(async () => {
      const r = await look('kubernetes');
      return r.code === 0 ? r.stdout : undefined;
    }, 20_000, 'nslookup kubernetes.default');
    assert.match(kube, /Name:\s+kubernetes\.default\.svc\.cluster\.local\s+Address:\s+10\.43\.0\.1\b/);
    // headless: one address per ready pod
    const webIPs = (await readyPods('app=web')).map((p: any) => p.status.podIP).sort();
    const h = await eventually(async () => {
      const r = await look('web-h');
      const ips = [...r.stdout.matchAll(/Address:\s+(10\.42\.\d+\.\d+)/g)].map((m) => m[1]).sort();
      return r.code === 0 && JSON.stringify(ips) === JSON.stringify(webIPs) ? ips : undefined;
    }, 10_000, `web-h → ${webIPs}`);
    assert.equal(h.length, 3);
    // a StatefulSet pod by <hostname>.<headless service>
    const db0 = JSON.parse(await s.k(['get', 'pod', 'db-0', '-o', 'json']));
    const r0 = await look('db-0.db-h');
    assert.equal(r0.code, 0, r0.stderr + r0.stdout);
    assert.match(r0.stdout, new RegExp(`Name:\\s+db-0\\.db-h\\.default\\.svc\\.cluster\\.local\\s+Address:\\s+${db0.status.podIP.replace(/\./g, '\\.')}\\b`));
    // ExternalName: a CNAME (chased here: the target is in the cluster)
    const webIP = (await s.k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const e = await look('ext');
    assert.equal(e.code, 0, e.stderr + e.stdout);
    assert.match(e.stdout, /ext\.default\.svc\.cluster\.local\s+canonical name = web\.default\.svc\.cluster\.local/);
    assert.ok(e.stdout.includes(webIP), `${webIP} in ${e.stdout}`);
    // a missing name
    const m = await look('missing');
    assert.notEqual(m.code, 0);
    assert.match(m.stdout + m.stderr, /NXDOMAIN/);
  });

  it('NodePort and LoadBalancer ports answer on 127.0.0.1 from the host', async () => {
    const names = new Set((await readyPods('app=web')).map((p: any) => p.metadata.name));
    const np = await eventually(async () => {
      const r = await curl(`http://127.0.0.1:${nodePort}/`);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 15_000, `NodePort ${nodePort}`);
    assert.ok(names.has(np), np);
    const lb = await eventually(async () => {
      const svc = JSON.parse(await s.k(['get', 'svc', 'web-lb', '-o', 'json']));
      return svc.status?.loadBalancer?.ingress?.length ? svc : undefined;
    }, 20_000, 'web-lb status.loadBalancer.ingress');
    assert.ok(lb.status.loadBalancer.ingress.some((i: any) => i.ip === agent.node.status.addresses.find((a: any) => a.type === 'InternalIP')?.address), JSON.stringify(lb.status));
    const got = await eventually(async () => {
      const r = await curl(`http://127.0.0.1:${lbPort}/`);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 15_000, `LoadBalancer port ${lbPort}`);
    assert.ok(names.has(got), got);
  });

  it('UDP: a NodePort Service forwards datagrams (to the node DNS), and pods query the cluster DNS over UDP', async () => {
    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`127.0.0.1:${udpNodePort}`]);
    const ips = await eventually(() => r.resolve4('kubernetes.default.svc.cluster.local').catch(() => undefined), 15_000, `UDP NodePort ${udpNodePort}`);
    assert.deepEqual(ips, ['10.43.0.1']);
    // the kube-dns Service itself is UDP (busybox nslookup asks over UDP)
    const out = await mustExec('client', 'nslookup web.default.svc.cluster.local 10.43.0.10');
    assert.match(out, /Address:\s+10\.43\./);
  });

  it('kubectl port-forward svc/web reaches a pod', async () => {
    const pf = spawn('kubectl', ['port-forward', 'svc/web', ':80'], { env: { ...process.env, KUBECONFIG: s.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(pf);
    let out = '';
    pf.stdout!.on('data', (d) => (out += d));
    pf.stderr!.on('data', (d) => (out += d));
    const port = await eventually(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 15_000, 'port-forward ready');
    const names = new Set((await readyPods('app=web')).map((p: any) => p.metadata.name));
    const r = await curl(`http://127.0.0.1:${port}/`);
    assert.equal(r.code, 0, out);
    assert.ok(names.has(r.stdout.trim()), r.stdout);
    pf.kill('SIGTERM');
  });

  it('scaled to zero the Service refuses at once; scaled to one it routes again within a second of Ready', async (t) => {
    await s.k(['scale', 'deployment', 'web', '--replicas=0']);
    await eventually(async () => (await readyEndpoints('web')).length === 0 && (await s.k(['get', 'pods', '-l', 'app=web', '-o', 'name'])).trim() === '', 60_000, 'web without endpoints and pods');
    // refused, not a timeout: the proxy REJECTs a Service without endpoints
    let last = '';
    const refused = await eventually(async () => {
      const t0 = Date.now();
      const r = await exec('client', 'timeout 5 wget -qO- http://web/ 2>&1; echo rc=$?');
      last = r.stdout + r.stderr;
      return /refused/i.test(r.stdout) ? { ms: Date.now() - t0, out: r.stdout } : undefined;
    }, 15_000, 'connection refused').catch((e) => {
      throw new Error(`${(e as Error).message}; last answer: ${last}`);
    });
    assert.ok(refused.ms < 3000, `refusal took ${refused.ms} ms (kubectl exec included): ${refused.out}`);
    t.diagnostic(`refused in ${refused.ms} ms (kubectl exec included)`);

    // a loop in the client pod notes (in /proc/uptime seconds, the host's clock too) its first success
    const loop = exec('client', `i=0; while [ $i -lt 1200 ]; do if timeout 2 wget -qO- http://web/ >/dev/null 2>&1; then cut -d' ' -f1 /proc/uptime; exit 0; fi; usleep 50000; i=$((i+1)); done; echo never; exit 1`, 120_000);
    // the host notes when the new pod turns Ready, from a watch
    const watch = spawn('kubectl', ['get', 'pods', '-l', 'app=web', '--watch', '-o', 'jsonpath={.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\\n"}'], { env: { ...process.env, KUBECONFIG: s.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(watch);
    let readyAt = 0;
    let buf = '';
    watch.stdout!.on('data', (d) => {
      buf += d;
      if (!readyAt && /\bTrue\b/.test(buf)) readyAt = uptime();
    });
    await new Promise((r) => setTimeout(r, 500)); // the watch is open
    await s.k(['scale', 'deployment', 'web', '--replicas=1']);
    const r = await loop;
    watch.kill('SIGTERM');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const okAt = Number(r.stdout.trim());
    assert.ok(readyAt > 0, `no Ready seen: ${buf}`);
    const lag = okAt - readyAt;
    t.diagnostic(`routed ${lag.toFixed(2)} s after the pod turned Ready`);
    assert.ok(lag < 1.5, `routed ${lag.toFixed(2)} s after the pod was Ready (Ready at ${readyAt}, first answer at ${okAt})`);
  });
});
