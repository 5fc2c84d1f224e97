// kubectl logs, exec, attach, cp and port-forward through the apiserver to the
// kubelet API and containerd, with the real kubectl (WebSocket first, and the
// SPDY fallback forced through kubectl's own switches). Without a node agent
// the same commands answer clean errors.
// The agent part needs root + containerd; it skips with the reason otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, run, startServer, type TestServer } from '../support/cluster.js';
import { criSkipReason } from '../support/criNode.js';
import { busyboxAvailable } from '../support/images.js';
import { startAgentNode, type AgentNode } from '../support/agentNode.js';
import { httpGet } from '../support/http.js';

const agentSkip = criSkipReason() ?? (busyboxAvailable() ? undefined : 'busybox-static is not installed');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('streaming through a real node (kubectl logs/exec/attach/cp/port-forward)', { skip: agentSkip, timeout: 180_000 }, () => {
  let agent: AgentNode;
  let server: TestServer;
  let work: string;
  let image = '';
  const kubectl = (args: string[], o: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) =>
    run('kubectl', args, { input: o.input, env: { KUBECONFIG: server.kubeconfig, ...o.env }, timeoutMs: o.timeoutMs ?? 30_000 });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'k8ts-streaming-'));
    // the server's default cluster CIDR (10.42.0.0/24): the other agent e2e files keep clear of it
    agent = await startAgentNode({ bridgePrefix: 'k8tss', args: ['--node-name', 'stream-node'], importAs: 'busybox:stream' });
    ({ s: server, image } = agent);
    // web serves /tmp on 8080 and ticks to stdout; crash exits every few seconds
    await server.k(['run', 'web', `--image=${image}`, '--', 'sh', '-c', 'echo started; httpd -p 8080 -h /tmp; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done']);
    await server.k(['run', 'crash', `--image=${image}`, '--', 'sh', '-c', 'echo run-$(cat /proc/uptime); sleep 1; exit 1']);
    await eventually(async () => (await server.k('get pod web -o jsonpath={.status.containerStatuses[0].ready}')) === 'true', 60_000, 'pod web ready');
  });

  after(async () => {
    if (!agent) return;
    const left = await agent.teardown({ timeoutSec: 60 });
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(left.filter((l) => l.startsWith('mount') || l.startsWith('bridge ports')), []);
  });

  it('kubectl logs: plain, --tail, --timestamps, --limit-bytes, -f', async () => {
    await eventually(async () => /tick 2/.test(await server.k('logs web')), 20_000, 'ticks in the log');
    const all = await server.k('logs web');
    assert.match(all, /^started\ntick 0\ntick 1\n/);
    const tail = (await server.k('logs web --tail=1')).split('\n').filter(Boolean);
    assert.equal(tail.length, 1);
    assert.match(tail[0]!, /^tick \d+$/);
    const ts = await server.k('logs web --timestamps --tail=2');
    for (const line of ts.trim().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick \d+$/);
    assert.equal(await server.k('logs web --limit-bytes=5'), 'start');
    // -f keeps streaming new lines until interrupted
    const r = await kubectl(['logs', '-f', 'web', '--tail=1'], { timeoutMs: 3500 });
    const ticks = r.stdout.trim().split('\n');
    assert.ok(ticks.length >= 3, `follow gave ${JSON.stringify(r.stdout)}`);
  });

  it('kubectl logs --previous shows the last terminated instance', async () => {
    await eventually(async () => Number(await server.k('get pod crash -o jsonpath={.status.containerStatuses[0].restartCount}')) >= 1, 60_000, 'crash restarted');
    const prev = await server.k('logs crash --previous');
    assert.match(prev, /^run-/);
    const cur = await kubectl(['logs', 'crash']);
    if (cur.code === 0 && cur.stdout) assert.notEqual(cur.stdout, prev);
    const none = await kubectl(['logs', 'web', '--previous']);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /previous terminated container "web" in pod "web" not found/);
  });

  it('kubectl exec: output, exit codes, stdin with EOF, over WebSocket and SPDY', async () => {
    for (const env of [{}, { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }]) {
      const hi = await kubectl(['exec', 'web', '--', 'echo', 'hi'], { env });
      assert.equal(hi.code, 0, hi.stderr);
      assert.equal(hi.stdout, 'hi\n');
      const three = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { env });
      assert.equal(three.code, 3, JSON.stringify(three));
      assert.equal(three.stdout, 'out\n');
      assert.match(three.stderr, /err\n/);
      const sorted = await kubectl(['exec', '-i', 'web', '--', 'sort'], { input: 'b\nc\na\n', env });
      assert.equal(sorted.code, 0, sorted.stderr);
      assert.equal(sorted.stdout, 'a\nb\nc\n');
    }
    const bad = await kubectl(['exec', 'web', '-c', 'nope', '--', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /container nope is not valid for pod web/);
  });

  it('kubectl exec -t gives a terminal', async () => {
    // `script` gives kubectl a pseudo-terminal, so it really asks for a TTY
    const r = await run('script', ['-qec', `kubectl exec -ti web -- sh -c 'tty; exit 4'`, '/dev/null'], { env: { KUBECONFIG: server.kubeconfig }, timeoutMs: 20_000 });
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, /exit code 4/);
  });

  it('kubectl cp both ways', async () => {
    const src = join(work, 'in.txt');
    writeFileSync(src, 'copied into the pod\n');
    await server.k(['cp', src, 'web:/tmp/cp.txt']);
    assert.equal(await server.k('exec web -- cat /tmp/cp.txt'), 'copied into the pod\n');
    const back = join(work, 'back.txt');
    await server.k(['cp', 'web:/tmp/cp.txt', back]);
    assert.equal(readFileSync(back, 'utf8'), 'copied into the pod\n');
  });

  it('kubectl port-forward over WebSocket and SPDY, then HTTP on 127.0.0.1', async () => {
    await server.k(['exec', 'web', '--', 'sh', '-c', 'echo forwarded > /tmp/pf.html']);
    for (const env of [{}, { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }]) {
      const port = await freePort();
      const pf = spawn('kubectl', ['port-forward', 'pod/web', `${port}:8080`], { env: { ...process.env, KUBECONFIG: server.kubeconfig, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      pf.stdout.on('data', (d) => (out += d));
      pf.stderr.on('data', (d) => (out += d));
      try {
        await eventually(() => /Forwarding from 127\.0\.0\.1/.test(out), 10_000, `port-forward ready: ${out}`);
        for (let i = 0; i < 3; i++) {
          const r = await httpGet(`http://127.0.0.1:${port}/pf.html`);
          assert.equal(r.status, 200);
          assert.equal(r.body, 'forwarded\n');
        }
      } finally {
        pf.kill('SIGTERM');
      }
    }
  });

  it('kubectl attach streams the main process output', async () => {
    const r = await kubectl(['attach', 'web'], { timeoutMs: 3500 });
    assert.match(r.stdout, /tick \d+\n/);
  });

  it('nodes/proxy reaches the kubelet stats summary and metrics; the node lists its images', async () => {
    const summary = JSON.parse(await server.k('get --raw /api/v1/nodes/stream-node/proxy/stats/summary'));
    assert.equal(summary.node.nodeName, 'stream-node');
    assert.ok(summary.node.memory.workingSetBytes > 0 && summary.node.cpu.usageCoreNanoSeconds > 0, JSON.stringify(summary.node));
    const web = summary.pods.find((p: any) => p.podRef.name === 'web' && p.podRef.namespace === 'default');
    assert.ok(web?.podRef.uid, JSON.stringify(summary.pods.map((p: any) => p.podRef)));
    assert.ok(web.containers.find((c: any) => c.name === 'web')?.memory.workingSetBytes > 0, JSON.stringify(web));
    const metrics = await server.k('get --raw /api/v1/nodes/stream-node/proxy/metrics');
    assert.match(metrics, /^kubelet_running_pods [1-9]/m);
    assert.match(metrics, /^kubelet_running_containers\{container_state="running"\} [1-9]/m);
    const names = await eventually(async () => {
      const n = await server.k('get node stream-node -o jsonpath={.status.images[*].names}');
      return n.includes(image) ? n : undefined;
    }, 20_000, 'image in node status');
    assert.ok(names.includes(image));
  });
});

describe('streaming without a node agent answers clean errors', { timeout: 60_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ args: ['--simulated-nodes', '1'] });
  });
  after(async () => server?.stop());

  it('unscheduled pods, simulated nodes and unreachable kubelets', async () => {
    const closedPort = await freePort();
    const pod = (name: string, node?: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { ...(node ? { nodeName: node } : {}), schedulerName: 'none', containers: [{ name: 'c', image: 'busybox' }] } });
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'gone' } };
    await server.k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod('pending'), node] }));
    await server.k(['patch', 'node', 'gone', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: closedPort } } } })]);
    await server.k(['apply', '-f', '-'], JSON.stringify(pod('orphan', 'gone')));
    const sim = (await server.k('get nodes -o name')).split('\n').find((n) => n && n !== 'node/gone')!.replace('node/', '');
    await server.k(['apply', '-f', '-'], JSON.stringify(pod('simmed', sim)));
    await server.k(['patch', 'pod', 'orphan', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);

    const logs = await server.kubectl(['logs', 'pending']);
    assert.notEqual(logs.code, 0);
    assert.match(logs.stderr, /does not have a host assigned/);
    const l2 = await server.kubectl(['logs', 'orphan']);
    assert.match(l2.stderr, /unable to reach the kubelet of node "gone"/);
    const e2 = await server.kubectl(['exec', 'orphan', '--', 'true']);
    assert.notEqual(e2.code, 0);
    assert.match(e2.stderr, /unable to reach the kubelet of node "gone"/);
    const l3 = await server.kubectl(['logs', 'simmed']);
    assert.match(l3.stderr, /simulated node/);
    const pf = await server.kubectl(['port-forward', 'orphan', '18089:80'], { timeoutMs: 10_000 });
    assert.notEqual(pf.code, 0);
    // plain GET without an upgrade
    const raw = await server.kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/orphan/exec?command=true&stdout=true']);
    assert.match(raw.stderr, /Upgrade request required/);
    // the server is fine afterwards
    assert.match(await server.k('get ns default -o name'), /namespace\/default/);
    await sleep(10);
  });
});
