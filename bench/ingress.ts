// The ingress data plane (issue 6) beside nginx (Debian) as a reverse proxy to
// the same upstreams, and beside the upstreams directly, in the same run; with
// keep-alive and with a new connection per request.
// - upstreams: an nginx answering a small page on two ports, inside a network
//   namespace the bench makes (veth on 10.42.X.0/24, X in 20–29): the shape of
//   two pods on a node's bridge, without the pods' start-up noise;
// - ingress: k8ts's DataPlane + listeners in this process (`--ingress-workers 0`),
//   with the route table compiled from an Ingress object and the upstream's two
//   endpoints (what the controller hands it), access log on (to a file) as in
//   `k8ts server`; then the same state sent to 1 and to 2 data-plane worker
//   processes (DataPlaneWorkers, `--ingress-workers 1|2`);
// - ingress, nginx data plane (`--ingress-data-plane nginx`): the same route
//   table and endpoints through renderNginxConfig + NginxProcess (the config
//   `k8ts server` would run; 1 nginx worker = the default worker count here,
//   access log on, to a file);
// - nginx: `proxy_pass` to an upstream block with `keepalive 64`, access log on
//   (buffered), once with 1 worker (the same one core as Node) and once with
//   `worker_processes auto`;
// - loader: wrk (Debian package; installed with apt-get when missing), one
//   thread, 32 connections, 5 s per point after a 1 s warm-up.
// Needs root (network namespace), /usr/sbin/nginx and wrk; skips otherwise.
// Everything made is removed: namespace, veth, nginx processes, temp dirs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import client from 'prom-client';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { freeCidr } from '../test/support/criNode.js';
import { DataPlane } from '../src/ingress/proxy.js';
import { buildRouteTable } from '../src/ingress/routeTable.js';
import { CertificateStore, fallbackCertificate } from '../src/ingress/certificates.js';
import { createListeners, listen } from '../src/ingress/listeners.js';
import { IngressMetrics } from '../src/ingress/metrics.js';
import { endpointCookie, Upstream } from '../src/ingress/upstreams.js';
import { DataPlaneWorkers } from '../src/ingress/workers.js';
import { NginxProcess } from '../src/ingress/nginx/nginxProcess.js';

const NGINX = '/usr/sbin/nginx';
const SECONDS = 5;
const CONNECTIONS = 32;

const sh = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

function ensureWrk(): boolean {
  if (spawnSync('wrk', ['-v']).error === undefined) return true;
  process.stderr.write('bench ingress: installing wrk (apt-get install wrk)…\n');
  spawnSync('apt-get', ['install', '-y', 'wrk'], { stdio: 'ignore' });
  return spawnSync('wrk', ['-v']).error === undefined;
}

/** wrk's Requests/sec and its 99th percentile latency (ms). */
async function wrk(url: string, close: boolean): Promise<{ rps: number; p99: number; errors: number }> {
  const args = ['-t1', `-c${CONNECTIONS}`, '--latency', '-H', 'Host: bench.local', ...(close ? ['-H', 'Connection: close'] : [])];
  await runWrk([...args, '-d1s', url]); // warm-up: pools, JIT
  const out = await runWrk([...args, `-d${SECONDS}s`, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(out);
  const p99 = m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : 0;
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  // with Connection: close, wrk counts the server's close as a read "error"; only connect/timeouts/statuses count
  const errors = (errs ? Number(errs[1]) + Number(errs[4]) + (close ? 0 : Number(errs[2]) + Number(errs[3])) : 0) + non2xx;
  return { rps: Math.round(rps), p99: Math.round(p99 * 100) / 100, errors };
}

function runWrk(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => p.kill('SIGKILL'), (SECONDS + 20) * 1000);
    p.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
  });
}

function nginxConf(dir: string, body: string, workers: number | 'auto'): string {
  for (const d of ['tmp', 'logs']) mkdirSync(join(dir, d), { recursive: true });
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/tmp/${t};`).join(' ');
  const conf = `worker_processes ${workers};
daemon off;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  ${temp}
  keepalive_requests 1000000;
  ${body}
}
`;
  const f = join(dir, 'nginx.conf');
  writeFileSync(f, conf);
  return f;
}

async function startNginx(dir: string, conf: string, netns?: string): Promise<ChildProcess> {
  const args = ['-p', dir, '-c', conf];
  const p = netns ? spawn('ip', ['netns', 'exec', netns, NGINX, ...args], { stdio: 'ignore' }) : spawn(NGINX, args, { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  if (p.exitCode !== null) throw new Error(`nginx exited (${p.exitCode}); see ${dir}/logs/error.log`);
  return p;
}

async function stopNginx(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGQUIT'); // nginx: graceful stop of master and workers
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  if (p.exitCode === null) p.kill('SIGKILL');
}

export async function benchIngress(): Promise<Record<string, number>> {
  if (process.getuid?.() !== 0 || !existsSync(NGINX)) {
    process.stderr.write('bench ingress: skipped (needs root and /usr/sbin/nginx)\n');
    return {};
  }
  if (!ensureWrk()) {
    process.stderr.write('bench ingress: skipped (needs wrk)\n');
    return {};
  }
  const cidr = freeCidr(20, 29);
  const base = cidr.split('/')[0].replace(/\.0$/, '');
  const hostIp = `${base}.1`;
  const podIp = `${base}.2`;
  const tag = randomBytes(3).toString('hex');
  const ns = `k8ts-bi-${tag}`;
  const vh = `kbih${tag}`;
  const vn = `kbin${tag}`;
  const tmp = mkdtempSync(join(tmpdir(), 'k8ts-bench-ingress-'));
  const procs: ChildProcess[] = [];
  let dp: DataPlane | undefined;
  let listeners: ReturnType<typeof createListeners> | undefined;
  let relayListeners: ReturnType<typeof createListeners> | undefined;
  const pools: DataPlaneWorkers[] = [];
  let k8tsNginx: NginxProcess | undefined;
  const out: Record<string, number> = {};
  try {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'add', vh, 'type', 'veth', 'peer', 'name', vn]);
    sh('ip', ['link', 'set', vn, 'netns', ns]);
    sh('ip', ['addr', 'add', `${hostIp}/24`, 'dev', vh]);
    sh('ip', ['link', 'set', vh, 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${podIp}/24`, 'dev', vn]);
    sh('ip', ['-n', ns, 'link', 'set', vn, 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);

    // the "pods": one nginx worker answering on two ports (two endpoints)
    const upDir = join(tmp, 'upstream');
    mkdirSync(upDir);
    procs.push(await startNginx(upDir, nginxConf(upDir, `access_log off; server { listen ${podIp}:8080 reuseport; listen ${podIp}:8081 reuseport; location / { return 200 "hello from the pod\\n"; } }`, 1), ns));

    // the ingress data plane, as the controller would configure it
    const log = pino({ level: 'info', base: undefined }, pino.destination({ dest: join(tmp, 'ingress-access.log'), sync: false, minLength: 8 * 1024 }));
    dp = new DataPlane({ accessLog: log, metrics: new IngressMetrics(new client.Registry()), httpsPort: () => 443 });
    const ing: Ingress = { metadata: { name: 'bench', namespace: 'default', creationTimestamp: new Date().toISOString() }, spec: { rules: [{ host: 'bench.local', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'pods', port: { number: 80 } } } }] } }] } };
    dp.table = buildRouteTable([ing]);
    dp.upstream('default/pods:80').set([8080, 8081].map((port) => ({ ip: podIp, port, address: `${podIp}:${port}`, cookie: endpointCookie(`${podIp}:${port}`) })));
    listeners = createListeners(dp, new CertificateStore(await fallbackCertificate()), { relay: false });
    const ingressPort = await listen(listeners.plain, 0, '127.0.0.1');
    // the same data plane behind the hand-written HTTP/1.1 relay (relay.ts)
    relayListeners = createListeners(dp, new CertificateStore(await fallbackCertificate()), { relay: true });
    const relayPort = await listen(relayListeners.plain, 0, '127.0.0.1');

    const nginxPort = async (workers: number | 'auto', name: string) => {
      const d = join(tmp, name);
      mkdirSync(d);
      const port = 20000 + Math.floor(Math.random() * 20000);
      const body = `access_log ${d}/logs/access.log combined buffer=64k flush=1s;
  upstream pods { server ${podIp}:8080; server ${podIp}:8081; keepalive 64; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://pods; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Request-ID $request_id; } }`;
      procs.push(await startNginx(d, nginxConf(d, body, workers)));
      return port;
    };
    // the same route and endpoints in data-plane worker processes, as `k8ts server --ingress-workers N` runs them
    const workerPort = async (count: number, relay = false) => {
      const up = new Upstream('default/pods:80');
      up.set(dp!.upstream('default/pods:80').endpoints);
      const w = new DataPlaneWorkers({ count, log: pino({ level: 'warn' }), init: { fallback: await fallbackCertificate(), httpPort: 0, httpsPort: 0, bind: '127.0.0.1', logLevel: 'warn', accessLog: join(tmp, `ingress-access-${count}${relay ? '-relay' : ''}.log`), relay } });
      w.publish({ version: 1, ingresses: [ing], secrets: new Map() }, new Map([[up.key, up]]));
      pools.push(w);
      const r = await w.start();
      if (!r.httpPort) throw new Error(`ingress workers cannot listen: ${r.httpError}`);
      return r.httpPort;
    };
    // the nginx data plane with the configuration the controller generates for this state
    const nginxPlanePort = async () => {
      const d = join(tmp, 'k8ts-nginx');
      k8tsNginx = new NginxProcess({ dir: d, log: pino({ level: 'warn' }), bind: '127.0.0.1', httpPort: 0, httpsPort: 0, fallback: await fallbackCertificate(), workers: 1, accessLog: join(tmp, 'k8ts-nginx-access.log'), user: 'root' });
      k8tsNginx.update({ table: dp!.table, upstreams: new Map([['default/pods:80', dp!.upstream('default/pods:80').endpoints]]), secrets: new Map() });
      const r = await k8tsNginx.start();
      if (!r.httpPort) throw new Error(`the nginx data plane cannot start: ${r.httpError}`);
      return r.httpPort;
    };
    const workers1 = await workerPort(1);
    const k8tsNginxPort = await nginxPlanePort();
    const workers2 = await workerPort(2);
    const workers1Relay = await workerPort(1, true);
    const nginx1 = await nginxPort(1, 'nginx-1');
    const nginxAuto = await nginxPort('auto', 'nginx-auto');

    const targets: [string, string][] = [
      ['direct', `http://${podIp}:8080/`],
      ['nginx_1worker', `http://127.0.0.1:${nginx1}/`],
      ['nginx_auto', `http://127.0.0.1:${nginxAuto}/`],
      ['ingress', `http://127.0.0.1:${ingressPort}/`],
      ['ingress_1worker', `http://127.0.0.1:${workers1}/`],
      ['ingress_2workers', `http://127.0.0.1:${workers2}/`],
      ['ingress_relay', `http://127.0.0.1:${relayPort}/`],
      ['ingress_1worker_relay', `http://127.0.0.1:${workers1Relay}/`],
      ['ingress_nginx_dataplane', `http://127.0.0.1:${k8tsNginxPort}/`],
    ];
    for (const close of [false, true]) {
      const mode = close ? 'newconn' : 'keepalive';
      for (const [name, url] of targets) {
        const r = await wrk(url, close);
        out[`${mode}_${name}_rps`] = r.rps;
        out[`${mode}_${name}_p99_ms`] = r.p99;
        if (r.errors) out[`${mode}_${name}_errors`] = r.errors;
        process.stderr.write(`bench ingress: ${mode} ${name}: ${r.rps} req/s, p99 ${r.p99} ms${r.errors ? `, ${r.errors} errors` : ''}\n`);
      }
      for (const who of ['ingress', 'ingress_1worker', 'ingress_2workers', 'ingress_relay', 'ingress_1worker_relay', 'ingress_nginx_dataplane'])
        for (const ref of ['nginx_1worker', 'nginx_auto']) {
          out[`${mode}_${who}_vs_${ref}_rps_ratio`] = Math.round((out[`${mode}_${who}_rps`] / out[`${mode}_${ref}_rps`]) * 100) / 100;
          out[`${mode}_${who}_vs_${ref}_p99_ratio`] = Math.round((out[`${mode}_${who}_p99_ms`] / out[`${mode}_${ref}_p99_ms`]) * 100) / 100;
        }
    }
  } finally {
    await listeners?.close();
    await relayListeners?.close();
    dp?.close();
    for (const w of pools) await w.stop();
    await k8tsNginx?.stop();
    for (const p of procs) await stopNginx(p);
    spawnSync('ip', ['netns', 'del', ns]);
    spawnSync('ip', ['link', 'del', vh]);
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}
