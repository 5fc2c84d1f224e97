// API server benchmarks against a real `k8ts server` child process on loopback,
// each beside a baseline measured in the same run. Every loop is bounded in
// count and time.
import https from 'node:https';
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, cli } from '../test/support/cluster.js';
import { RawClient } from '../test/support/http.js';

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'bench', tier: 'web' } },
  // no node exists here: a scheduler name nobody serves keeps the default scheduler from
  // retrying 10,000 unschedulable pods in the same process, so this measures the API server
  spec: { schedulerName: 'bench-unscheduled', containers: [{ name: 'c', image: 'registry.local/app:1.0', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] },
});

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function createsPerSec(c: RawClient, total: number, concurrency: number, maxMs: number): Promise<{ rate: number; created: number }> {
  let next = 0;
  let ok = 0;
  const start = performance.now();
  const deadline = start + maxMs;
  const worker = async () => {
    while (next < total && performance.now() < deadline) {
      const i = next++;
      const r = await c.request('POST', '/api/v1/namespaces/default/pods', pod(`p-${i}`));
      if (r.status === 201) ok++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { rate: ok / ((performance.now() - start) / 1000), created: ok };
}

/** Open-loop GETs at a fixed rate; returns latency percentiles in ms. */
async function getAtRate(send: () => Promise<unknown>, rate: number, seconds: number): Promise<{ p50: number; p99: number; achieved: number }> {
  const lat: number[] = [];
  const n = rate * seconds;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    pending.push(
      (async () => {
        const t = performance.now();
        await send();
        lat.push(performance.now() - t);
      })(),
    );
  }
  await Promise.all(pending);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), achieved: n / ((performance.now() - start) / 1000) };
}

async function rawHttpsBaseline(keyPem: string, certPem: string): Promise<{ url: string; close(): void }> {
  const body = Buffer.from(JSON.stringify(pod('baseline')));
  const srv = https.createServer({ key: keyPem, cert: certPem }, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return { url: `https://127.0.0.1:${port}`, close: () => srv.close() };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : 0;
}

async function readyTimeMs(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-ready-'));
  const t0 = performance.now();
  const p = spawn(process.execPath, [cli, 'server', '--data-dir', dir, '--port', '0', '--bind-address', '127.0.0.1', '--disable-agent', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ms = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server not ready in 20 s')), 20_000);
    p.stderr.on('data', (d) => {
      log += d;
      if (/ready on https/.test(log)) {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      }
    });
  });
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

async function nodeStartMs(): Promise<number> {
  const t0 = performance.now();
  await new Promise((r) => spawn(process.execPath, ['-e', '0']).once('exit', r));
  return performance.now() - t0;
}

export async function benchApiserver(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // start-up: first start (PKI generated) and a restart on the same data dir
  const firsts: number[] = [];
  for (let i = 0; i < 3; i++) firsts.push(await readyTimeMs());
  out.ready_ms_median = percentile(firsts, 50);
  out.baseline_node_start_ms = await nodeStartMs();

  const s = await startServer({ args: ['--log-level', 'error'] });
  try {
    await new Promise((r) => setTimeout(r, 1500)); // let the background OpenAPI build finish
    out.idle_rss_mb = rssMb(s.proc.pid!);
    const c = new RawClient(s.kubeconfig);

    const creates = await createsPerSec(c, 10_000, 64, 20_000);
    out.pod_creates_per_s = creates.rate;
    out.pods_created = creates.created;
    out.rss_after_creates_mb = rssMb(s.proc.pid!);

    // GET p99 at 1,000 req/s against a raw HTTPS server doing nothing (baseline)
    const get = await getAtRate(() => c.request('GET', '/api/v1/namespaces/default/pods/p-1'), 1000, 5);
    out.get_p50_ms = get.p50;
    out.get_p99_ms = get.p99;
    out.get_rate_achieved = get.achieved;
    const kc = readFileSync(join(s.dataDir, 'tls', 'serving.key'), 'utf8');
    const cc = readFileSync(join(s.dataDir, 'tls', 'serving.crt'), 'utf8');
    const base = await rawHttpsBaseline(kc, cc);
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 256 });
    const baseGet = () => new Promise<void>((resolve) => https.get(`${base.url}/`, { agent }, (r) => { r.resume(); r.on('end', () => resolve()); }).on('error', () => resolve()));
    await getAtRate(baseGet, 1000, 1); // warm up connections, as the k8ts client already is
    const bg = await getAtRate(baseGet, 1000, 5);
    out.baseline_raw_https_get_p99_ms = bg.p99;
    base.close();
    agent.destroy();

    // LIST of all pods (10,000 when the create phase finished)
    const lists: number[] = [];
    let count = 0;
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      const r = await c.request('GET', '/api/v1/namespaces/default/pods');
      lists.push(performance.now() - t);
      count = r.json().items.length;
    }
    out.list_pods_count = count;
    out.list_pods_p50_ms = percentile(lists, 50);
    out.list_pods_max_ms = Math.max(...lists);
    const tables: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await c.request('GET', '/api/v1/namespaces/default/pods?limit=500', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
      tables.push(performance.now() - t);
    }
    out.list_pods_table_page500_p50_ms = percentile(tables, 50);

    // watch fan-out: 1,000 watchers, time from write to each watcher's delivery
    const WATCHERS = 1000;
    const arrivals = new Map<string, number[]>();
    const rv = (await c.request('GET', '/api/v1/namespaces/default/configmaps')).json().metadata.resourceVersion;
    // watches hold their connection: give them their own pool so writes still get sockets
    const wc = new RawClient(s.kubeconfig, { maxSockets: WATCHERS + 10 });
    // the watchers only look for the object's name in the raw stream: one client process
    // parsing 1,000 JSON streams would measure the client, not the server
    const ws = Array.from({ length: WATCHERS }, () =>
      wc.rawWatch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=60`, (chunk) => {
        const m = /"name":"(fan-\d+)"/.exec(chunk);
        if (!m) return;
        let a = arrivals.get(m[1]);
        if (!a) arrivals.set(m[1], (a = []));
        a.push(performance.now());
      }),
    );
    await new Promise((r) => setTimeout(r, 2000));
    const fan: number[] = [];
    for (let i = 0; i < 10; i++) {
      const name = `fan-${i}`;
      const t = performance.now();
      await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name } });
      const end = performance.now() + 5000;
      while ((arrivals.get(name)?.length ?? 0) < WATCHERS && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
      const a = arrivals.get(name) ?? [];
      out.watch_delivered_last = a.length;
      fan.push(...a.map((x) => x - t));
    }
    out.watch_fanout_1000_p50_ms = percentile(fan, 50);
    out.watch_fanout_1000_p99_ms = percentile(fan, 99);
    for (const w of ws) w.close();
    wc.close();
    c.close();
  } finally {
    await s.stop();
  }
  return out;
}
