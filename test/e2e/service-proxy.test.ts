// pods/proxy and services/proxy on one real containerd node, driven by the real
// kubectl: `kubectl get --raw …/pods/NAME:PORT/proxy/` and
// `…/services/NAME:PORTNAME/proxy/PATH` reach busybox httpd pods (query string
// passed, endpoints picked at random), errors come back as Status objects (503
// without endpoints, 404 for a missing pod, 400 for a bad port), and
// `kubectl proxy` relays to a Service through the apiserver.
// Needs root + containerd + runc + CNI plugins + skopeo + busybox-static.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, run, type TestServer } from '../support/cluster.js';
import { busyboxAvailable } from '../support/images.js';
import { criSkipReason } from '../support/criNode.js';
import { startAgentNode, type AgentNode } from '../support/agentNode.js';

const skip = criSkipReason() ?? (!busyboxAvailable() ? 'service proxy tests skipped: needs /usr/bin/busybox (busybox-static)' : !existsSync('/usr/bin/skopeo') ? 'service proxy tests skipped: needs skopeo' : undefined);

describe('pods/proxy and services/proxy through the apiserver', { skip, timeout: 300_000 }, () => {
  let agent: AgentNode;
  let s: TestServer;
  const children: ChildProcess[] = [];

  /** kubectl get --raw PATH → { code, out } (kubectl prints a failed request's Status on stderr) */
  const raw = (path: string) => s.kubectl(['get', '--raw', path], { timeoutMs: 20_000 });
  /** kubectl's report of a failed request: `Error from server (Reason): message` → the Status' reason, code and message */
  const codes: Record<string, number> = { BadRequest: 400, NotFound: 404, ServiceUnavailable: 503 };
  const status = (stderr: string) => {
    const m = /Error from server \((\w+)\): (.*)/.exec(stderr);
    return m ? { reason: m[1]!, code: codes[m[1]!], message: m[2]! } : undefined;
  };

  before(async () => {
    agent = await startAgentNode({ cidrRange: [253, 253], bridgePrefix: 'ksp' });
    s = agent.s;
    // each pod serves its own name at / and /index.html, and a CGI echoing its query string
    const httpd = (name: string, app: string) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { app } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'httpd',
            image: agent.image,
            command: ['sh', '-c', 'mkdir -p /w/cgi-bin && hostname > /w/index.html && printf \'#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho "q=$QUERY_STRING m=$REQUEST_METHOD"\\n\' > /w/cgi-bin/q && chmod +x /w/cgi-bin/q && exec httpd -f -p 8080 -h /w'],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    });
    const web = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
    const empty = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty' }, spec: { selector: { app: 'nobody' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
    // a selector-less Service whose hand-made slice points at an address no pod holds: never proxied to
    const stray = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'stray' }, spec: { ports: [{ name: 'http', port: 80 }] } };
    const straySlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'stray-1', labels: { 'kubernetes.io/service-name': 'stray' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: Number(new URL(JSON.parse(await s.k(['config', 'view', '--raw', '-o', 'json'])).clusters[0].cluster.server).port) }],
    };
    await s.k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [httpd('web-x', 'web'), httpd('web-y', 'web'), web, empty, stray, straySlice] }));
    await eventually(async () => {
      const pods = JSON.parse(await s.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
      return pods.length === 2 && pods.every((p: any) => p.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True');
    }, 90_000, 'web-x and web-y Ready');
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (!agent) return;
    if (process.env.K8TS_TEST_LOG) process.stderr.write(`--- server log (tail) ---\n${s.logs().slice(-8000)}\n`);
    const left = await agent.teardown();
    assert.deepEqual(left, [], 'the agent left things behind');
  });

  it('pods/NAME:PORT/proxy/ and pods/NAME/proxy (first container port) return the pod page; query and method reach the pod', async () => {
    const r = await raw('/api/v1/namespaces/default/pods/web-x:8080/proxy/');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'web-x');
    const byName = await raw('/api/v1/namespaces/default/pods/web-y:http/proxy/index.html');
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(byName.stdout.trim(), 'web-y');
    const noPort = await raw('/api/v1/namespaces/default/pods/web-y/proxy/index.html');
    assert.equal(noPort.stdout.trim(), 'web-y', noPort.stderr);
    const q = await raw('/api/v1/namespaces/default/pods/http:web-x:8080/proxy/cgi-bin/q?a=1&b=two');
    assert.equal(q.code, 0, q.stderr);
    assert.equal(q.stdout.trim(), 'q=a=1&b=two m=GET');
    // another verb, straight with curl and the admin's client certificate
    const kc = JSON.parse(await s.k(['config', 'view', '--raw', '-o', 'json']));
    const pem = (name: string, field: string) => {
      const f = join(s.dataDir, `proxy-test-${name}.pem`);
      writeFileSync(f, Buffer.from(kc.users[0].user[field], 'base64'), { mode: 0o600 });
      return f;
    };
    const post = await run('curl', ['-sSk', '-w', '%{http_code}', '--max-time', '10', '-X', 'POST', '--data', 'x', '--cert', pem('cert', 'client-certificate-data'), '--key', pem('key', 'client-key-data'), `${kc.clusters[0].cluster.server}/api/v1/namespaces/default/pods/web-x:8080/proxy/cgi-bin/q?z=9`], { timeoutMs: 15_000 });
    assert.equal(post.stdout.trim(), 'q=z=9 m=POST\n200', `curl ${post.code}: ${post.stderr}`);
    // an upgrade request goes the upgrade way; httpd declines it and its plain answer comes back as it is
    const up = await run('curl', ['-sSk', '--http1.1', '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13', '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', '--max-time', '10', '--cert', pem('cert', 'client-certificate-data'), '--key', pem('key', 'client-key-data'), `${kc.clusters[0].cluster.server}/api/v1/namespaces/default/services/web:http/proxy/index.html?u=1`], { timeoutMs: 15_000 });
    assert.ok(['web-x', 'web-y'].includes(up.stdout.trim()), `curl ${up.code}: ${up.stderr}${up.stdout}`);
  });

  it('services/NAME:PORTNAME/proxy/PATH and services/NAME:PORT/proxy/ return a ready endpoint\'s page, at random', async () => {
    const r = await raw('/api/v1/namespaces/default/services/web:http/proxy/index.html');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(['web-x', 'web-y'].includes(r.stdout.trim()), r.stdout);
    const seen = new Set<string>();
    for (let i = 0; i < 12 && seen.size < 2; i++) {
      const x = await raw('/api/v1/namespaces/default/services/web:80/proxy/');
      assert.equal(x.code, 0, x.stderr);
      seen.add(x.stdout.trim());
    }
    assert.deepEqual([...seen].sort(), ['web-x', 'web-y']);
  });

  it('errors are Status objects: no endpoints → 503, missing pod or service → 404, bad port → 400 / 503', async () => {
    const e = await raw('/api/v1/namespaces/default/services/empty:http/proxy/');
    assert.notEqual(e.code, 0);
    const st = status(e.stderr);
    assert.equal(st?.code, 503, e.stderr);
    assert.match(st.message, /no endpoints available for service "empty:http"/);
    // a slice pointing at an address that is no pod's (here: the apiserver itself) is never used
    const stray = status((await raw('/api/v1/namespaces/default/services/stray:http/proxy/version')).stderr);
    assert.equal(stray?.code, 503);
    assert.match(stray.message, /no endpoints available/);
    const p = status((await raw('/api/v1/namespaces/default/pods/missing:8080/proxy/')).stderr);
    assert.equal(p?.code, 404);
    assert.equal(p.reason, 'NotFound');
    assert.match(p.message, /pods "missing" not found/);
    const sv = status((await raw('/api/v1/namespaces/default/services/missing/proxy/')).stderr);
    assert.equal(sv?.code, 404);
    assert.match(sv.message, /services "missing" not found/);
    const bad = status((await raw('/api/v1/namespaces/default/pods/web-x:nope/proxy/')).stderr);
    assert.equal(bad?.code, 400);
    assert.match(bad.message, /invalid port "nope"/);
    const bad2 = status((await raw('/api/v1/namespaces/default/pods/ftp:web-x:8080/proxy/')).stderr);
    assert.equal(bad2?.code, 400);
    const svcPort = status((await raw('/api/v1/namespaces/default/services/web:81/proxy/')).stderr);
    assert.equal(svcPort?.code, 503);
    assert.match(svcPort.message, /no service port 81 found for service "web"/);
    // the pod is there but nothing listens on the port: 503 from the dial
    const refused = status((await raw('/api/v1/namespaces/default/pods/web-x:9/proxy/')).stderr);
    assert.equal(refused?.code, 503);
    assert.match(refused.message, /error trying to reach service/);
  });

  it('kubectl proxy relays to a Service through the apiserver', async () => {
    const kp = spawn('kubectl', ['proxy', '--port=0'], { env: { ...process.env, KUBECONFIG: s.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(kp);
    let out = '';
    kp.stdout!.on('data', (d) => (out += d));
    kp.stderr!.on('data', (d) => (out += d));
    const port = await eventually(() => /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 15_000, 'kubectl proxy serving');
    const r = await run('curl', ['-s', '--max-time', '10', `http://127.0.0.1:${port}/api/v1/namespaces/default/services/web/proxy/`], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, r.stderr + out);
    assert.ok(['web-x', 'web-y'].includes(r.stdout.trim()), r.stdout);
    // an empty path is redirected to the trailing slash (kubectl proxy passes the redirect on)
    const redirect = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '--max-time', '10', `http://127.0.0.1:${port}/api/v1/namespaces/default/services/web:http/proxy`], { timeoutMs: 15_000 });
    assert.match(redirect.stdout, /^301 .*\/api\/v1\/namespaces\/default\/services\/web:http\/proxy\/$/);
    kp.kill('SIGTERM');
  });
});
