// Cluster DNS benchmark: queries/s for cluster names (A for ClusterIP
// services, A for headless services with three endpoints, NXDOMAIN for
// missing names and search-path expansions) from our server, beside dnsmasq
// (Debian) serving the same records from a hosts file, in the same run and
// with the same load generators: bench/dnsLoad.ts (Node, a child process on
// the other core) and dnsperf (C; Debian's `dnsperf`, installed when missing
// and root), which pushes harder, so its ratio is the truer one. Our server is
// fed a fixed synthetic record set through in-memory informers. Loopback only;
// every load is bounded in count and time.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import pino from 'pino';
import { FakeInformer } from '../test/support/fakeInformer.js';
import { startClusterDns } from '../src/dns/server.js';
import { RCODE, TYPE } from '../src/dns/message.js';

const here = dirname(fileURLToPath(import.meta.url));
const DNSMASQ = '/usr/sbin/dnsmasq';
/** dnsperf (Debian package `dnsperf`), a C load generator that pushes harder than ours; installed here when root */
function findDnsperf(): string | undefined {
  const which = () => spawnSync('sh', ['-c', 'command -v dnsperf']).stdout?.toString().trim() || undefined;
  if (!which() && process.getuid?.() === 0) {
    process.stderr.write('bench dns: installing dnsperf (apt-get)…\n');
    spawnSync('apt-get', ['install', '-y', '-q', 'dnsperf'], { stdio: 'ignore', timeout: 180_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  return which();
}

const SERVICES = 1000;
const HEADLESS = 100;
const NAMESPACES = 10;

interface Records {
  hosts: string;
  names: [string, number, number][];
  services: object[];
  slices: object[];
}

function records(): Records {
  const services: object[] = [];
  const slices: object[] = [];
  const lines: string[] = [];
  const names: [string, number, number][] = [];
  for (let i = 0; i < SERVICES; i++) {
    const ns = `ns-${i % NAMESPACES}`;
    const ip = `10.43.${1 + (i >> 8)}.${i & 255}`;
    services.push({ metadata: { name: `svc-${i}`, namespace: ns }, spec: { clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80 }] } });
    lines.push(`${ip} svc-${i}.${ns}.svc.cluster.local`);
  }
  for (let i = 0; i < HEADLESS; i++) {
    const ns = `ns-${i % NAMESPACES}`;
    services.push({ metadata: { name: `hl-${i}`, namespace: ns }, spec: { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] } });
    const eps = [0, 1, 2].map((k) => `10.42.${i >> 6}.${((i & 63) << 2) + k}`);
    slices.push({ metadata: { name: `hl-${i}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': `hl-${i}` } }, addressType: 'IPv4', endpoints: eps.map((a) => ({ addresses: [a], conditions: { ready: true } })), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
    for (const a of eps) lines.push(`${a} hl-${i}.${ns}.svc.cluster.local`);
  }
  // the mix: 60% ClusterIP A, 20% headless A, 20% NXDOMAIN
  for (let i = 0; i < 600; i++) names.push([`svc-${(i * 7) % SERVICES}.ns-${((i * 7) % SERVICES) % NAMESPACES}.svc.cluster.local`, TYPE.A, RCODE.NOERROR]);
  for (let i = 0; i < 200; i++) names.push([`hl-${i % HEADLESS}.ns-${i % HEADLESS % NAMESPACES}.svc.cluster.local`, TYPE.A, RCODE.NOERROR]);
  for (let i = 0; i < 100; i++) names.push([`missing-${i}.ns-${i % NAMESPACES}.svc.cluster.local`, TYPE.A, RCODE.NXDOMAIN]);
  for (let i = 0; i < 100; i++) names.push([`svc-${i}.ns-${i % NAMESPACES}.svc.cluster.local.ns-0.svc.cluster.local`, TYPE.A, RCODE.NXDOMAIN]);
  // interleave so every window sees the mix
  const mixed: [string, number, number][] = [];
  for (let i = 0; i < names.length; i++) mixed.push(names[(i * 397) % names.length]);
  return { hosts: lines.join('\n') + '\n', names: mixed, services, slices };
}

interface LoadResult {
  received: number;
  elapsed: number;
  mismatched: number;
  lost: number;
  sent: number;
}

function load(port: number, names: Records['names'], maxMs: number, maxQueries: number): Promise<LoadResult> {
  const spec = { host: '127.0.0.1', port, names, sockets: 4, window: 32, maxQueries, maxMs };
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(here, 'dnsLoad.js'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    const kill = setTimeout(() => p.kill('SIGKILL'), maxMs + 10_000);
    p.on('exit', () => {
      clearTimeout(kill);
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`load generator failed: ${out}`));
      }
    });
  });
}

interface PerfResult {
  qps: number;
  lost: number;
  nxdomainPct: number;
}

/** dnsperf for up to maxSec seconds and at most `runs` passes over the names (bounded both ways). */
function dnsperf(bin: string, port: number, file: string, maxSec: number, runs: number): Promise<PerfResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(maxSec), '-n', String(runs), '-q', '200', '-c', '4', '-t', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const kill = setTimeout(() => p.kill('SIGKILL'), (maxSec + 10) * 1000);
    p.on('exit', () => {
      clearTimeout(kill);
      const qps = /Queries per second:\s+([\d.]+)/.exec(out);
      if (!qps) return reject(new Error(`dnsperf failed:\n${out}`));
      resolve({ qps: Math.round(Number(qps[1])), lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0), nxdomainPct: Number(/NXDOMAIN \d+ \(([\d.]+)%\)/.exec(out)?.[1] ?? 0) });
    });
  });
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

async function startDnsmasq(dir: string, hosts: string): Promise<{ port: number; stop(): void }> {
  const file = join(dir, 'hosts');
  writeFileSync(file, hosts, { mode: 0o644 });
  const port = await freePort();
  const p = spawn(
    DNSMASQ,
    ['--no-daemon', '--no-resolv', '--no-hosts', `--addn-hosts=${file}`, '--local=/cluster.local/', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--pid-file=', '--user=root', '--cache-size=10000', '--local-ttl=5', '--log-facility=/dev/null'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  // ready when it answers
  const t0 = Date.now();
  for (;;) {
    const r = await load(port, [['svc-0.ns-0.svc.cluster.local', TYPE.A, RCODE.NOERROR]], 300, 1).catch(() => undefined);
    if (r?.received) break;
    if (p.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`dnsmasq did not start: ${err}`);
  }
  return { port, stop: () => p.kill('SIGTERM') };
}

export async function benchDns(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const rec = records();
  const DNSPERF = findDnsperf();
  const MAX_MS = 5000;
  const MAX_Q = 1_000_000;

  const services = new FakeInformer<any>();
  const slices = new FakeInformer<any>();
  for (const s of rec.services) services.set(s);
  for (const s of rec.slices) slices.set(s);
  const dns = await startClusterDns({ services: services.informer, endpointSlices: slices.informer, listen: [{ host: '127.0.0.1', port: 0 }], upstreams: [], log: pino({ level: 'silent' }) });
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-bench-dns-'));
  const queryFile = join(dir, 'queries');
  writeFileSync(queryFile, rec.names.map(([n]) => `${n} A`).join('\n') + '\n');
  const measure = async (prefix: string, port: number) => {
    // warm (JIT, caches), then measure; the same generators, in the same order, for both servers
    await load(port, rec.names, 1000, 50_000);
    const node = await load(port, rec.names, MAX_MS, MAX_Q);
    out[`${prefix}_qps_node_generator`] = Math.round(node.received / node.elapsed);
    out[`${prefix}_wrong_rcode`] = node.mismatched;
    out[`${prefix}_lost_node_generator`] = node.lost;
    if (DNSPERF) {
      const perf = await dnsperf(DNSPERF, port, queryFile, MAX_MS / 1000, 1000);
      out[`${prefix}_qps_dnsperf`] = perf.qps;
      out[`${prefix}_lost_dnsperf`] = perf.lost;
      out[`${prefix}_nxdomain_pct_dnsperf`] = perf.nxdomainPct;
    }
  };
  try {
    await measure('k8ts', dns.addresses[0].port);
    if (existsSync(DNSMASQ)) {
      const dm = await startDnsmasq(dir, rec.hosts);
      try {
        await measure('dnsmasq', dm.port);
      } finally {
        dm.stop();
      }
      out.ratio_node_generator = out.k8ts_qps_node_generator / out.dnsmasq_qps_node_generator;
      if (DNSPERF) out.ratio_dnsperf = out.k8ts_qps_dnsperf / out.dnsmasq_qps_dnsperf;
    } else process.stderr.write('bench dns: /usr/sbin/dnsmasq missing (apt-get install dnsmasq-base), no baseline\n');
    if (!DNSPERF) process.stderr.write('bench dns: dnsperf missing (apt-get install dnsperf): measured with the Node generator only\n');
  } finally {
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  out.services = SERVICES + HEADLESS;
  return out;
}

// run alone: node dist/bench/dns.js
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchDns();
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  process.exit(0);
}
