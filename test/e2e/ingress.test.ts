// The embedded ingress controller on a real containerd node, driven by the real
// kubectl and curl: the seeds' fan-out and name-based virtual hosts, TLS from a
// Secret (curl --resolve … --cacert), the default backend (built-in 404, then a
// user's default-http-backend Service, then an Ingress defaultBackend), path
// precedence, wildcard hosts, the 308 redirect, a WebSocket echo, certificate
// rotation without restart, and a rolling update under load that loses nothing.
// The WebSocket upstream is a ws server the TEST runs on the node's bridge
// gateway address (busybox cannot speak WebSocket), reached through a
// selector-less Service with a hand-written EndpointSlice.
// Needs root + containerd + runc + CNI plugins + skopeo + busybox-static + openssl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually, run, type TestServer } from '../support/cluster.js';
import { busyboxAvailable } from '../support/images.js';
import { criSkipReason } from '../support/criNode.js';
import { startAgentNode, type AgentNode } from '../support/agentNode.js';

// K8TS_INGRESS_DATA_PLANE=nginx runs the same cases against `--ingress-data-plane nginx` (needs /usr/sbin/nginx)
const dataPlane = process.env.K8TS_INGRESS_DATA_PLANE === 'nginx' ? 'nginx' : 'node';
const skip =
  (dataPlane === 'nginx' && !existsSync('/usr/sbin/nginx') ? 'ingress tests (nginx data plane) skipped: needs /usr/sbin/nginx' : undefined) ??
  criSkipReason() ??
  (!busyboxAvailable() ? 'ingress tests skipped: needs /usr/bin/busybox (busybox-static)' : !existsSync('/usr/bin/skopeo') ? 'ingress tests skipped: needs skopeo' : !existsSync('/usr/bin/openssl') ? 'ingress tests skipped: needs openssl' : undefined);

/** A Deployment of busybox httpd answering "<app> <version> <pod>" on every path (200 for /, 404 elsewhere), and its Service. */
function app(image: string, name: string, opts: { replicas?: number; service?: string; namespace?: string } = {}): string {
  const ns = opts.namespace ?? 'default';
  const svc = opts.service ?? name;
  const script = 'mkdir -p /www && echo "$APP v$VERSION $(hostname)" > /www/index.html && echo "E404:/www/index.html" > /tmp/httpd.conf && exec httpd -f -p 8080 -h /www -c /tmp/httpd.conf';
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${ns} }
spec:
  replicas: ${opts.replicas ?? 1}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      terminationGracePeriodSeconds: 3
      containers:
      - name: httpd
        image: ${image}
        command: ["sh", "-c", ${JSON.stringify(script)}]
        env: [{ name: APP, value: ${name} }, { name: VERSION, value: "1" }]
        ports: [{ containerPort: 8080, name: http }]
        readinessProbe: { httpGet: { path: /, port: 8080 }, periodSeconds: 1, failureThreshold: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: ${svc}, namespace: ${ns} }
spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 80, targetPort: http }]
`;
}

describe(`ingress controller on containerd (${dataPlane} data plane)`, { skip, timeout: 300_000 }, () => {
  let agent: AgentNode;
  let s: TestServer;
  let httpPort = 0;
  let httpsPort = 0;
  let tmp = '';
  let gateway = '';
  let wss: WebSocketServer | undefined;

  /** curl through the ingress; returns status, body and the Location header */
  const curl = async (url: string, extra: string[] = []): Promise<{ status: number; body: string; location: string; version: string }> => {
    const u = new URL(url);
    const port = u.protocol === 'https:' ? httpsPort : httpPort;
    // both ports resolve, so curl -L can follow a redirect to HTTPS
    const r = await run('curl', ['-sS', '--max-time', '5', '--resolve', `${u.hostname}:${httpPort}:127.0.0.1`, '--resolve', `${u.hostname}:${httpsPort}:127.0.0.1`, '-o', '-', '-w', '\n%{http_code} %{http_version} %{redirect_url}', ...extra, `${u.protocol}//${u.hostname}:${port}${u.pathname}${u.search}`], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, `curl ${url}: ${r.stderr}`);
    const i = r.stdout.lastIndexOf('\n');
    const [status, version, location] = r.stdout.slice(i + 1).split(' ');
    return { status: Number(status), body: r.stdout.slice(0, i), location: location ?? '', version };
  };
  /** the app name a URL reaches (first word of its page), once routing has settled */
  const reaches = async (url: string, want: string, extra: string[] = []) =>
    eventually(async () => {
      const r = await curl(url, extra);
      return r.body.split(' ')[0] === want ? r : undefined;
    }, 15_000, `${url} → ${want}`);
  const apply = (yaml: string) => s.k(['apply', '-f', '-'], yaml);
  const openssl = async (args: string[]) => {
    const r = await run('openssl', args, { timeoutMs: 20_000 });
    assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  };
  /** a CA and a certificate for myapp.com signed by it (serial/subject `tag`) */
  const makeCert = async (tag: string) => {
    const f = (n: string) => join(tmp, `${tag}-${n}`);
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-subj', `/CN=test-ca-${tag}`, '-days', '2']);
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', `/CN=myapp.com ${tag}`]);
    writeFileSync(f('ext'), 'subjectAltName=DNS:myapp.com,DNS:www.myapp.com\nextendedKeyUsage=serverAuth\n');
    await openssl(['x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('tls.crt'), '-days', '2', '-extfile', f('ext')]);
    return { ca: f('ca.pem'), crt: f('tls.crt'), key: f('tls.key') };
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'k8ts-ingress-'));
    agent = await startAgentNode({ cidrRange: dataPlane === 'nginx' ? [252, 253] : [254, 255], bridgePrefix: dataPlane === 'nginx' ? 'ktn' : 'kti', args: dataPlane === 'nginx' ? ['--ingress-data-plane', 'nginx'] : [] });
    s = agent.s;
    const m = await eventually(() => /ingress listening on http [^:\s]+:(\d+) https [^:\s]+:(\d+)/.exec(s.logs()) ?? undefined, 20_000, 'ingress ports');
    httpPort = Number(m[1]);
    httpsPort = Number(m[2]);
    gateway = agent.podCIDR.replace(/\.0\/\d+$/, '.1');
    // every app starts at once; the tests below use them
    await apply([app(agent.image, 'analytics', { service: 'analytics-service' }), app(agent.image, 'shopping', { service: 'shopping-service' }), app(agent.image, 'web', { replicas: 2 })].join('---\n'));
    await s.k(['rollout', 'status', 'deploy/analytics', 'deploy/shopping', 'deploy/web', '--timeout=90s']);
  });

  after(async () => {
    wss?.close();
    rmSync(tmp, { recursive: true, force: true });
    if (!agent) return;
    // Deployments first (foreground: their pods go with them), or they would recreate the pods teardown deletes
    await s.kubectl(['delete', 'deploy', '--all', '--cascade=foreground', '--timeout=60s'], { timeoutMs: 70_000 });
    const left = await agent.teardown();
    assert.deepEqual(left, [], `left behind: ${left.join(', ')}`);
  });

  it('creates the default IngressClass k8ts', async () => {
    const ic = JSON.parse(await s.k('get ingressclass k8ts -o json'));
    assert.equal(ic.spec.controller, 'k8ts.io/ingress');
    assert.equal(ic.metadata.annotations['ingressclass.kubernetes.io/is-default-class'], 'true');
  });

  it('answers unmatched requests with the built-in 404', async () => {
    const r = await curl('http://nothing.example/');
    assert.equal(r.status, 404);
    assert.match(r.body, /404 Not Found.*k8ts ingress/s);
  });

  it('fan-out: myapp.com/analytics and /shopping with rewrite-target /', async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: fanout
  annotations: { nginx.ingress.kubernetes.io/rewrite-target: / }
spec:
  rules:
  - host: myapp.com
    http:
      paths:
      - { path: /analytics, pathType: Prefix, backend: { service: { name: analytics-service, port: { number: 80 } } } }
      - { path: /shopping, pathType: Prefix, backend: { service: { name: shopping-service, port: { name: http } } } }
`);
    const a = await reaches('http://myapp.com/analytics', 'analytics');
    assert.equal(a.status, 200); // rewritten to / (index.html), not /analytics (404 page)
    assert.equal((await reaches('http://myapp.com/shopping/cart', 'shopping')).status, 200);
    // status.loadBalancer carries the node address; kubectl shows CLASS HOSTS ADDRESS PORTS
    const line = await eventually(async () => {
      const out = await s.k('get ingress fanout');
      return /127\.0\.0\.1/.test(out) ? out : undefined;
    }, 10_000, 'ingress ADDRESS');
    assert.match(line, /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE/);
    assert.match(line, /fanout\s+k8ts\s+myapp\.com\s+127\.0\.0\.1\s+80\s/);
  });

  it('name-based virtual hosts; Ingresses of other classes are left alone', async () => {
    await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: vhosts }
spec:
  ingressClassName: k8ts
  rules:
  - host: analytics.myapp.com
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: analytics-service, port: { number: 80 } } } }] }
  - host: shopping.myapp.com
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: shopping-service, port: { number: 80 } } } }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: not-ours }
spec:
  ingressClassName: other
  rules:
  - host: other.myapp.com
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: analytics-service, port: { number: 80 } } } }] }
`);
    await reaches('http://analytics.myapp.com/', 'analytics');
    await reaches('http://shopping.myapp.com/', 'shopping');
    assert.equal((await curl('http://other.myapp.com/')).status, 404);
    await eventually(async () => JSON.parse(await s.k('get ingress vhosts -o json')).status?.loadBalancer?.ingress?.[0]?.ip === '127.0.0.1', 10_000, 'vhosts status');
    assert.deepEqual(JSON.parse(await s.k('get ingress not-ours -o json')).status?.loadBalancer ?? {}, {});
  });

  it('path types: Exact beats Prefix, Prefix is element-wise and the longest wins; wildcard hosts match one label', async () => {
    const be = (svc: string) => `{ service: { name: ${svc}, port: { number: 80 } } }`;
    await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: paths }
spec:
  rules:
  - host: paths.test
    http:
      paths:
      - { path: /foo, pathType: Prefix, backend: ${be('analytics-service')} }
      - { path: /foo, pathType: Exact, backend: ${be('shopping-service')} }
      - { path: /foo/bar, pathType: Prefix, backend: ${be('web')} }
  - host: "*.wild.test"
    http: { paths: [{ path: /, pathType: Prefix, backend: ${be('shopping-service')} }] }
`);
    await reaches('http://paths.test/foo', 'shopping');
    await reaches('http://paths.test/foo/', 'analytics');
    await reaches('http://paths.test/foo/baz', 'analytics');
    await reaches('http://paths.test/foo/bar/x', 'web');
    assert.equal((await curl('http://paths.test/foobar')).status, 404); // not element-wise under /foo
    await reaches('http://a.wild.test/', 'shopping');
    assert.equal((await curl('http://a.b.wild.test/')).status, 404);
  });

  it('default backend: a user\'s default-http-backend Service, then an Ingress defaultBackend', async () => {
    await apply(app(agent.image, 'default-http-backend'));
    await s.k(['rollout', 'status', 'deploy/default-http-backend', '--timeout=60s']);
    await reaches('http://nothing.example/', 'default-http-backend');
    await reaches('http://paths.test/foobar', 'default-http-backend');
    await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: catchall }
spec:
  defaultBackend: { service: { name: web, port: { number: 80 } } }
`);
    await reaches('http://nothing.example/', 'web');
    await s.k('delete ingress catchall');
    await reaches('http://nothing.example/', 'default-http-backend');
  });

  it('TLS from a Secret by SNI (HTTP/2 and 1.1), the fallback certificate otherwise, and the 308 redirect', async () => {
    const c = await makeCert('one');
    await s.k(['create', 'secret', 'tls', 'myapp-tls', `--cert=${c.crt}`, `--key=${c.key}`]);
    await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: tls }
spec:
  tls: [{ hosts: [myapp.com], secretName: myapp-tls }]
  rules:
  - host: myapp.com
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`);
    // rules merge across Ingresses: / from this one, /analytics from fanout
    const r = await reaches('https://myapp.com/', 'web', ['--cacert', c.ca]);
    assert.equal(r.version, '2');
    assert.equal((await reaches('https://myapp.com/analytics', 'analytics', ['--cacert', c.ca, '--http1.1'])).version, '1.1');
    // HTTP to a TLS host: 308 to HTTPS
    const red = await eventually(async () => {
      const x = await curl('http://myapp.com/analytics?x=1');
      return x.status === 308 ? x : undefined;
    }, 10_000, 'redirect');
    assert.equal(red.location, `https://myapp.com:${httpsPort}/analytics?x=1`);
    // curl -L follows it to the right pod
    assert.match((await curl('http://myapp.com/analytics', ['-L', '--cacert', c.ca])).body, /^analytics /);
    // unknown SNI: the built-in fallback certificate, which the CA does not sign
    const bad = await run('curl', ['-sS', '--max-time', '5', '--resolve', `nothing.example:${httpsPort}:127.0.0.1`, '--cacert', c.ca, `https://nothing.example:${httpsPort}/`]);
    assert.notEqual(bad.code, 0);
    const fake = await run('curl', ['-skv', '--max-time', '5', '--resolve', `nothing.example:${httpsPort}:127.0.0.1`, `https://nothing.example:${httpsPort}/`]);
    assert.match(fake.stderr, /Fake Certificate/);
    assert.match(await s.k('get ingress tls'), /tls\s+k8ts\s+myapp\.com\s+\S*\s+80, 443\s/);
  });

  it('rotates the certificate without restart; an open keep-alive connection is unaffected', async () => {
    const c1 = { ca: join(tmp, 'one-ca.pem') };
    const c2 = await makeCert('two');
    const { readFileSync } = await import('node:fs');
    const agentOld = new https.Agent({ keepAlive: true, maxSockets: 1, ca: readFileSync(c1.ca), servername: 'myapp.com' });
    const get = (ag: https.Agent) =>
      new Promise<{ body: string; subject: string; reused: boolean; socket: TLSSocket }>((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port: httpsPort, path: '/', headers: { host: 'myapp.com' }, agent: ag, servername: 'myapp.com' }, (res) => {
          let b = '';
          const socket = res.socket as TLSSocket;
          const subject = String(socket.getPeerCertificate().subject.CN);
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ body: b, subject, reused: req.reusedSocket, socket }));
        });
        req.on('error', reject);
      });
    const before1 = await get(agentOld);
    assert.equal(before1.subject, 'myapp.com one');
    const secret = await s.k(['create', 'secret', 'tls', 'myapp-tls', `--cert=${c2.crt}`, `--key=${c2.key}`, '--dry-run=client', '-o', 'yaml']);
    await s.k(['apply', '-f', '-'], secret);
    const t0 = Date.now();
    await eventually(async () => (await curl('https://myapp.com/', ['--cacert', c2.ca])).body.startsWith('web '), 5_000, 'new certificate served');
    const took = Date.now() - t0;
    // the "within a second"; 2 s of slack for the curl spawn and a loaded CI machine
    process.stderr.write(`ingress: new certificate served ${took} ms after kubectl apply returned\n`);
    assert.ok(took < 2_000, `new certificate served after ${took} ms`);
    // the old connection goes on with the certificate it started with
    const after1 = await get(agentOld);
    assert.equal(after1.reused, true);
    assert.equal(after1.socket, before1.socket);
    assert.equal(after1.subject, 'myapp.com one');
    assert.match(after1.body, /^web /);
    agentOld.destroy();
  });

  it('proxies a WebSocket echo', async () => {
    wss = new WebSocketServer({ host: gateway, port: 0 });
    await new Promise((r) => wss!.once('listening', r));
    const wsPort = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`echo ${m} ${req.headers['x-forwarded-host']}`)));
    await apply(`apiVersion: v1
kind: Service
metadata: { name: ws-echo }
spec: { ports: [{ name: ws, port: 80, targetPort: ${wsPort} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ws-echo-1, labels: { kubernetes.io/service-name: ws-echo, endpointslice.kubernetes.io/managed-by: ingress-e2e } }
addressType: IPv4
ports: [{ name: ws, port: ${wsPort}, protocol: TCP }]
endpoints: [{ addresses: ["${gateway}"], conditions: { ready: true } }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ws }
spec:
  rules:
  - host: ws.myapp.com
    http: { paths: [{ path: /chat, pathType: Prefix, backend: { service: { name: ws-echo, port: { name: ws } } } }] }
`);
    const msg = await eventually(async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/chat`, { headers: { host: 'ws.myapp.com' } });
      try {
        await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
        ws.send('hello');
        return await new Promise<string>((r) => ws.once('message', (m) => r(String(m))));
      } finally {
        ws.close();
      }
    }, 10_000, 'websocket echo');
    assert.equal(msg, 'echo hello ws.myapp.com');
  });

  // nginx mode: every endpoint change is an nginx reload, and a reload can drop a request — on a reused
  // keep-alive connection the old worker closes, and rarely (1 of 2,000 in one CI run) on a fresh one an
  // old worker had accepted. Debian's nginx 1.22 has no dynamic upstreams; that is why `node` stays the
  // default data plane (src/ingress/README.md). The case runs in node mode only.
  it('a rolling update of the backend under 2,000 requests loses none', { skip: dataPlane === 'nginx' ? 'nginx reloads on endpoint changes can drop a request (see above)' : undefined }, async () => {
    const ag = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const one = () =>
      new Promise<{ status: number; body: string; reused: boolean }>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: httpPort, path: '/', headers: { host: 'roll.myapp.com' }, agent: ag, timeout: 10_000 }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b, reused: req.reusedSocket }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve({ status: 0, body: e.message, reused: req.reusedSocket }));
      });
    await apply(`apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: roll }
spec:
  rules:
  - host: roll.myapp.com
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`);
    await reaches('http://roll.myapp.com/', 'web');
    const total = 2_000;
    const results: { status: number; body: string }[] = [];
    let next = 0;
    let rolloutDone = false;
    const deadline = Date.now() + 120_000;
    // 4 workers; pace so the load spans the rollout (bounded: 2,000 requests, 120 s)
    const worker = async () => {
      while (next < total && Date.now() < deadline) {
        next++;
        results.push(await one());
        if (!rolloutDone) await new Promise((r) => setTimeout(r, 8));
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    await eventually(() => results.length >= 100 || undefined, 30_000, 'load started');
    await s.k(['set', 'env', 'deploy/web', 'VERSION=2']);
    await s.k(['rollout', 'status', 'deploy/web', '--timeout=90s']);
    const atRolloutEnd = results.length;
    rolloutDone = true;
    await load;
    ag.destroy();
    const failed = results.filter((r) => r.status !== 200);
    assert.equal(results.length, total);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${total} failed`);
    const v1 = results.filter((r) => r.body.startsWith('web v1')).length;
    const v2 = results.filter((r) => r.body.startsWith('web v2')).length;
    assert.ok(v1 > 0 && v2 > 0, `both versions answered (v1 ${v1}, v2 ${v2})`);
    assert.ok(atRolloutEnd < total, `the rollout finished while the load ran (${atRolloutEnd} requests by then)`);
    assert.match(results[results.length - 1].body, /^web v2/);
  });

  // per-route Prometheus metrics are counted by the Node data plane only (src/ingress/README.md)
  it('exports per-host metrics through the API server /metrics', { skip: dataPlane === 'nginx' ? 'no per-route metrics with the nginx data plane' : undefined }, async () => {
    const text = await s.k(['get', '--raw', '/metrics']);
    assert.match(text, /ingress_requests_total\{host="roll\.myapp\.com",path="\/",status="200"\} \d+/);
    assert.match(text, /ingress_request_duration_seconds_bucket\{[^}]*host="myapp\.com",path="\/analytics"/);
  });
});
