// `k8ts agent --server URL --token TOKEN` joins a node, k3s style: a server
// without its own agent hands out DATA_DIR/token; an agent process on the same
// machine (loopback) joins with it, registers node `joined`, turns Ready, and runs
// a pod the scheduler puts there, pulled from the server's registry. A wrong token
// gets 401. Needs root + containerd + runc + CNI plugins + skopeo + busybox-static.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import { cli, eventually, run, startServer, type TestServer } from '../support/cluster.js';
import { buildBusyboxImage, busyboxAvailable } from '../support/images.js';
import { criLeftovers, criSkipReason, freeCidr, hostNetSnapshot } from '../support/criNode.js';

const skip = criSkipReason() ?? (!busyboxAvailable() ? 'agent join test skipped: needs /usr/bin/busybox (busybox-static)' : !existsSync('/usr/bin/skopeo') ? 'agent join test skipped: needs skopeo' : undefined);

function post(url: string, token: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', rejectUnauthorized: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('k8ts agent joins a server', { skip, timeout: 120_000 }, () => {
  let s: TestServer;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  let agentDir = '';
  let token = '';
  let image = '';
  const clusterCidr = skip ? '' : freeCidr(90, 99);
  const bridge = `k8tsj${randomBytes(3).toString('hex')}`;
  const host = skip ? undefined : hostNetSnapshot(bridge);
  let podCIDR = '';

  const startAgentProc = (tok: string) => {
    agentLog = '';
    const p = spawn(process.execPath, [cli, 'agent', '--server', s.url, '--token', tok, '--node-name', 'joined', '--data-dir', agentDir, '--cni-bridge', bridge, '--registry-port', String(registryPort), '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout!.on('data', (d) => (agentLog += d));
    p.stderr!.on('data', (d) => (agentLog += d));
    return p;
  };
  let registryPort = 0;

  before(async () => {
    const img = buildBusyboxImage();
    img.catch(() => {});
    s = await startServer({ args: ['--registry-port', '0', '--cluster-cidr', clusterCidr] });
    agentDir = mkdtempSync('/tmp/k8ts-aj-');
    registryPort = Number(/registry listening on 127\.0\.0\.1:(\d+)/.exec(s.logs())?.[1]);
    assert.ok(registryPort > 0, `no registry port in:\n${s.logs()}`);
    image = `127.0.0.1:${registryPort}/busybox:1`;
    const built = await img;
    const r = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${built.layoutDir}:latest`, `docker://${image}`], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, r.stderr);
    token = readFileSync(`${s.dataDir}/token`, 'utf8').trim();
  });

  after(async () => {
    if (!s) return;
    // pods first: the agent removes their sandboxes (veths, netns, NAT rules)
    await s.kubectl(['delete', 'pods', '--all', '--grace-period=1', '--timeout=30s'], { timeoutMs: 40_000 });
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise<void>((r) => agent!.once('exit', () => r()));
      agent.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    }
    await s.stop();
    host?.restore();
    const left = criLeftovers(agentDir, bridge, podCIDR || clusterCidr);
    rmSync(agentDir, { recursive: true, force: true });
    assert.deepEqual(left, [], `left behind:\n${left.join('\n')}`);
  });

  it('writes a k3s-style token (0600) and `k8ts token create` makes another valid one', async () => {
    assert.match(token, /^K10[0-9a-f]{64}::server:[0-9a-f]+$/);
    assert.equal(statSync(`${s.dataDir}/token`).mode & 0o777, 0o600);
    const r = await run(process.execPath, [cli, 'token', 'create', '--data-dir', s.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const second = r.stdout.trim();
    assert.match(second, /^K10[0-9a-f]{64}::server:/);
    assert.notEqual(second, token);
    assert.equal(second.slice(0, 67), token.slice(0, 67), 'same CA hash');
    assert.equal(await post(`${s.url}/k8ts/v1/join`, second, { nodeName: 'probe' }), 200);
  });

  it('refuses a wrong token with 401, and an agent with a wrong token exits', async () => {
    assert.equal(await post(`${s.url}/k8ts/v1/join`, token.replace(/.$/, (c) => (c === '0' ? '1' : '0')), { nodeName: 'joined' }), 401);
    assert.equal(await post(`${s.url}/k8ts/v1/join`, 'nonsense', { nodeName: 'joined' }), 401);
    assert.equal(await post(`${s.url}/k8ts/v1/join`, '', { nodeName: 'joined' }), 401);
    // a token naming another CA: the agent refuses to trust the server at all
    const r = await run(process.execPath, [cli, 'agent', '--server', s.url, '--token', `K10${'0'.repeat(64)}::server:x`, '--node-name', 'joined', '--data-dir', agentDir], { timeoutMs: 20_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /does not match the join token/);
    const r2 = await run(process.execPath, [cli, 'agent', '--server', s.url, '--token', token.replace(/::server:.*/, '::server:wrong'), '--node-name', 'joined', '--data-dir', agentDir], { timeoutMs: 20_000 });
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /401/);
  });

  it('joins: node `joined` registers, turns Ready, and runs a pod', async () => {
    agent = startAgentProc(token);
    const node = await eventually(async () => {
      if (agent!.exitCode !== null) throw new Error(`agent exited ${agent!.exitCode}:\n${agentLog}`);
      const r = await s.kubectl(['get', 'node', 'joined', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const n = JSON.parse(r.stdout);
      return n.spec?.podCIDR && n.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True' ? n : undefined;
    }, 30_000, `node joined Ready (agent log:\n${agentLog})`);
    podCIDR = node.spec.podCIDR;
    assert.equal(podCIDR, clusterCidr);
    assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'joined');
    assert.ok(existsSync(`${agentDir}/agent/credentials.json`));
    assert.equal(statSync(`${agentDir}/agent/credentials.json`).mode & 0o777, 0o600);
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'on-joined' },
      spec: { nodeSelector: { 'kubernetes.io/hostname': 'joined' }, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '3600'] }] },
    };
    await s.k(['apply', '-f', '-'], JSON.stringify(pod));
    const p = await eventually(async () => {
      const o = JSON.parse(await s.k(['get', 'pod', 'on-joined', '-o', 'json']));
      return o.status?.phase === 'Running' ? o : undefined;
    }, 30_000, 'pod Running on joined');
    assert.equal(p.spec.nodeName, 'joined');
    assert.ok(p.status.podIP.startsWith(clusterCidr.split('.').slice(0, 3).join('.') + '.'), p.status.podIP);
    // the kubelet API works through the apiserver too
    const logs = await s.kubectl(['exec', 'on-joined', '--', 'echo', 'hi-from-joined']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.trim(), 'hi-from-joined');
  });

  it('restarts with its stored credentials and adopts the running pod', async () => {
    const creds = readFileSync(`${agentDir}/agent/credentials.json`, 'utf8');
    const exited = new Promise<void>((r) => agent!.once('exit', () => r()));
    agent!.kill('SIGTERM');
    await exited;
    agent = startAgentProc(token);
    await eventually(() => /running pods on containerd/.test(agentLog), 30_000, `agent restarted (log:\n${agentLog})`);
    assert.equal(readFileSync(`${agentDir}/agent/credentials.json`, 'utf8'), creds, 'no new certificate');
    const p = JSON.parse(await s.k(['get', 'pod', 'on-joined', '-o', 'json']));
    assert.equal(p.status.phase, 'Running');
    assert.equal(p.status.containerStatuses[0].restartCount, 0);
  });
});
