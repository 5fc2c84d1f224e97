// Pod start-up on a real containerd node (issue 4): a `k8ts server` WITH its
// agent, the locally built busybox image already present on the node.
// - sequential: 100 pods created one after another, create → Ready each
//   (p50/p99), with the phase offsets seen through the kubelet's Events;
// - burst: 100 pods created at once, time until all are Ready;
// - baselines in the same run, against the agent's own containerd: `ctr run -d`
//   of the same image, and CRI RunPodSandbox+CreateContainer+StartContainer;
// - idle RSS of the server with its agent, minus a `--disable-agent` server's.
// Needs root + containerd + runc + CNI plugins + ctr + skopeo + busybox-static;
// skips otherwise. Every loop is bounded in count and time; everything made is
// removed (pods, ctr containers, CRI sandboxes, bridge, netns, ip_forward).
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, startServer } from '../test/support/cluster.js';
import { RawClient } from '../test/support/http.js';
import { buildBusyboxImage, busyboxAvailable } from '../test/support/images.js';
import { startAgentNode, type AgentNode } from '../test/support/agentNode.js';
import { containerdProblems } from '../src/kubelet/containerd.js';
import { CriClient } from '../src/kubelet/cri/client.js';
import type { PodSandboxConfig } from '../src/kubelet/cri/types.js';

const SEQ = 100;
const BURST = 100;
const CTR_RUNS = 20;
const CRI_RUNS = 20;
const NS = 'default';
const LABEL = 'bench-podstartup';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds a process used (with its waited-for children: runc, CNI plugins). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    // fields after the command name: utime stime cutime cstime are 12..15 (0-based after ')')
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return 0;
  }
}

/** Summed RSS of the containerd shims serving this containerd (one per pod sandbox). */
function shimsRssMb(sock: string): { mb: number; count: number } {
  let mb = 0;
  let count = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (!cmd.includes('containerd-shim') || !cmd.includes(sock)) continue;
      mb += rssMb(Number(d));
      count++;
    } catch {}
  }
  return { mb, count };
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total }; // idle + iowait are not busy
}
const busyPct = (a: { busy: number; total: number }, b: { busy: number; total: number }) => Math.round((100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total));

/** Median of a few RSS samples over ~2 s (GC makes single samples noisy). */
async function idleRssMb(pid: number | undefined): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    xs.push(rssMb(pid));
    await sleep(500);
  }
  return percentile(xs, 50);
}

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, stepMs = 50): Promise<T> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(stepMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const round = (x: number) => Math.round(x * 10) / 10;

function benchPod(name: string, image: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: LABEL } },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{
        name: 'c',
        image,
        imagePullPolicy: 'IfNotPresent',
        // exits on SIGTERM (a bare `sleep` as PID 1 would ignore it and wait for SIGKILL)
        command: ['sh', '-c', 'trap "exit 0" TERM; sleep 1000 & wait'],
      }],
    },
  };
}

/** Watches the bench pods and the Events about them, timestamping on arrival. */
class PodTimes {
  readonly ready = new Map<string, number>();
  readonly bound = new Map<string, number>();
  readonly deleted = new Set<string>();
  readonly events = new Map<string, Map<string, number>>();
  private readonly ws: { close(): void }[] = [];

  constructor(private readonly c: RawClient) {}

  async start(): Promise<void> {
    const podRv = (await this.c.request('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${LABEL}`)).json().metadata.resourceVersion;
    const evRv = (await this.c.request('GET', `/api/v1/namespaces/${NS}/events`)).json().metadata.resourceVersion;
    this.ws.push(
      this.c.watch(`/api/v1/namespaces/${NS}/pods?watch=true&labelSelector=app%3D${LABEL}&resourceVersion=${podRv}&timeoutSeconds=1800`, (ev) => {
        const t = performance.now();
        const name = ev.object?.metadata?.name as string;
        if (!name) return;
        if (ev.type === 'DELETED') {
          this.deleted.add(name);
          return;
        }
        if (ev.object.spec?.nodeName && !this.bound.has(name)) this.bound.set(name, t);
        const ready = (ev.object.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
        if (ready && !this.ready.has(name)) this.ready.set(name, t);
      }),
      this.c.watch(`/api/v1/namespaces/${NS}/events?watch=true&resourceVersion=${evRv}&timeoutSeconds=1800`, (ev) => {
        const t = performance.now();
        if (ev.type !== 'ADDED') return;
        const name = ev.object?.involvedObject?.name as string;
        const reason = ev.object?.reason as string;
        if (!name || !reason) return;
        let m = this.events.get(name);
        if (!m) this.events.set(name, (m = new Map()));
        if (!m.has(reason)) m.set(reason, t);
      }),
    );
    await sleep(200); // the watches are registered
  }

  close(): void {
    for (const w of this.ws) w.close();
  }
}

async function createPod(c: RawClient, name: string, image: string): Promise<void> {
  const r = await c.request('POST', `/api/v1/namespaces/${NS}/pods`, benchPod(name, image));
  if (r.status !== 201) throw new Error(`create ${name}: ${r.status} ${r.body.slice(0, 300)}`);
}

async function deletePods(c: RawClient, times: PodTimes, names: string[], timeoutMs: number): Promise<boolean> {
  await Promise.all(names.map((n) => c.request('DELETE', `/api/v1/namespaces/${NS}/pods/${n}`).catch(() => undefined)));
  try {
    await until(() => (names.every((n) => times.deleted.has(n)) ? true : undefined), timeoutMs, 'pods deleted', 100);
    return true;
  } catch {
    return false;
  }
}

const ctrArgs = (sock: string) => ['--address', sock, '-n', 'k8s.io'];

/** `ctr run -d` of the image, timed until the task runs; p50/p99 in ms. */
async function ctrBaseline(sock: string, image: string, snapshotter: string): Promise<{ p50: number; p99: number; n: number }> {
  const lat: number[] = [];
  const ids: string[] = [];
  const deadline = performance.now() + 60_000;
  try {
    for (let i = 0; i < CTR_RUNS && performance.now() < deadline; i++) {
      const id = `k8ts-bench-ctr-${process.pid}-${i}`;
      ids.push(id);
      const t0 = performance.now();
      const r = await run('ctr', [...ctrArgs(sock), 'run', '-d', '--snapshotter', snapshotter, image, id, 'sleep', '1000'], { timeoutMs: 20_000 });
      if (r.code !== 0) throw new Error(`ctr run: ${r.stderr}`);
      // `run -d` returns once the task started; confirm it is RUNNING (polled, bounded)
      await until(async () => {
        const ls = await run('ctr', [...ctrArgs(sock), 'task', 'ls'], { timeoutMs: 10_000 });
        return ls.stdout.split('\n').some((l) => l.startsWith(id) && /RUNNING/.test(l)) ? true : undefined;
      }, 10_000, `ctr task ${id} running`, 10);
      lat.push(performance.now() - t0);
    }
  } finally {
    for (const id of ids) {
      await run('ctr', [...ctrArgs(sock), 'task', 'kill', '-s', 'SIGKILL', id], { timeoutMs: 10_000 });
      await until(async () => {
        const r = await run('ctr', [...ctrArgs(sock), 'task', 'rm', '-f', id], { timeoutMs: 10_000 });
        return r.code === 0 || /not found/.test(r.stderr) ? true : undefined;
      }, 10_000, `ctr task rm ${id}`, 100).catch(() => undefined);
      await run('ctr', [...ctrArgs(sock), 'container', 'rm', id], { timeoutMs: 10_000 });
    }
  }
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), n: lat.length };
}

/** RunPodSandbox + CreateContainer + StartContainer straight through the CRI. */
async function criBaseline(sock: string, image: string): Promise<{ p50: number; p99: number; sandboxP50: number; n: number }> {
  const cri = new CriClient(sock, { timeoutMs: 30_000 });
  const lat: number[] = [];
  const sb: number[] = [];
  const made: { sandbox: string; container?: string }[] = [];
  const deadline = performance.now() + 60_000;
  try {
    for (let i = 0; i < CRI_RUNS && performance.now() < deadline; i++) {
      const name = `k8ts-bench-cri-${i}`;
      const uid = randomBytes(16).toString('hex');
      // no pod-uid label: the agent's clean-up of unknown sandboxes never sees these
      const cfg: PodSandboxConfig = {
        metadata: { name, uid, namespace: 'k8ts-bench', attempt: 0 },
        hostname: name,
        labels: { 'k8ts.io/bench': 'cri' },
        annotations: {},
        linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
      };
      const t0 = performance.now();
      const sandbox = await cri.runPodSandbox(cfg);
      const rec: { sandbox: string; container?: string } = { sandbox };
      made.push(rec);
      sb.push(performance.now() - t0);
      rec.container = await cri.createContainer(sandbox, { metadata: { name: 'c', attempt: 0 }, image: { image }, command: ['sleep', '1000'], labels: {}, annotations: {} }, cfg);
      await cri.startContainer(rec.container);
      lat.push(performance.now() - t0);
    }
  } finally {
    for (const m of made) {
      if (m.container) {
        await cri.stopContainer(m.container, 0).catch(() => undefined);
        await cri.removeContainer(m.container).catch(() => undefined);
      }
      await cri.stopPodSandbox(m.sandbox).catch(() => undefined);
      await cri.removePodSandbox(m.sandbox).catch(() => undefined);
    }
    cri.close();
  }
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), sandboxP50: percentile(sb, 50), n: lat.length };
}

/** The same three CRI calls for n pods at once: the runtime's own floor for the burst. */
async function criBurst(sock: string, image: string, n: number): Promise<{ allMs: number; p50: number; started: number }> {
  const cri = new CriClient(sock, { timeoutMs: 60_000 });
  const made: { sandbox?: string; container?: string }[] = [];
  const done: number[] = [];
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const rec: { sandbox?: string; container?: string } = {};
        made.push(rec);
        const name = `k8ts-bench-criburst-${i}`;
        const cfg: PodSandboxConfig = {
          metadata: { name, uid: randomBytes(16).toString('hex'), namespace: 'k8ts-bench', attempt: 0 },
          hostname: name,
          labels: { 'k8ts.io/bench': 'cri' },
          annotations: {},
          linux: { securityContext: { namespaceOptions: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
        };
        try {
          rec.sandbox = await cri.runPodSandbox(cfg);
          rec.container = await cri.createContainer(rec.sandbox, { metadata: { name: 'c', attempt: 0 }, image: { image }, command: ['sleep', '1000'], labels: {}, annotations: {} }, cfg);
          await cri.startContainer(rec.container);
          done.push(performance.now() - t0);
        } catch (e) {
          process.stderr.write(`bench pods: CRI burst pod ${i}: ${(e as Error).message}\n`);
        }
      }),
    );
  } finally {
    // removed a few at a time: the IP range is needed again for the kubelet's burst
    for (let i = 0; i < made.length; i += 10) {
      await Promise.all(
        made.slice(i, i + 10).map(async (m) => {
          if (m.container) {
            await cri.stopContainer(m.container, 0).catch(() => undefined);
            await cri.removeContainer(m.container).catch(() => undefined);
          }
          if (m.sandbox) {
            await cri.stopPodSandbox(m.sandbox).catch(() => undefined);
            await cri.removePodSandbox(m.sandbox).catch(() => undefined);
          }
        }),
      );
    }
    cri.close();
  }
  return { allMs: done.length === n ? Math.max(...done) : -1, p50: percentile(done, 50), started: done.length };
}

function skipReason(): string | undefined {
  const p = containerdProblems();
  if (p.length) return p.join('; ');
  if (!busyboxAvailable()) return 'needs /usr/bin/busybox (busybox-static)';
  if (!existsSync('/usr/bin/skopeo')) return 'needs skopeo';
  if (!existsSync('/usr/bin/ctr')) return 'needs ctr (containerd)';
  return undefined;
}

export async function benchPodStartup(): Promise<Record<string, number>> {
  const why = skipReason();
  if (why) {
    process.stderr.write(`bench pods: skipped: ${why}\n`);
    return { skipped: 1 };
  }
  const out: Record<string, number> = {};
  await buildBusyboxImage();

  // the same server without its agent: the in-process agent's share of RSS is the difference
  {
    const bare = await startServer({ args: ['--log-level', 'error', '--registry-port', '0'] });
    try {
      await sleep(3000); // background start-up work (OpenAPI build, controllers' first lists)
      out.server_no_agent_idle_rss_mb = round(await idleRssMb(bare.proc.pid));
    } finally {
      await bare.stop();
    }
  }

  let agent: AgentNode | undefined;
  let c: RawClient | undefined;
  let times: PodTimes | undefined;
  try {
    // 10.42.1-19: clear of the e2e tests' ranges (0 streaming, 30-89 lifecycle, 100-199 kubelet, 200-249 CRI);
    // the image goes in after the idle measurement
    agent = await startAgentNode({ cidrRange: [1, 19], bridgePrefix: 'k8tsb', args: ['--log-level', 'error'], deferPush: true, readyTimeoutMs: 60_000 });
    const server = agent.s;
    const image = agent.image;
    c = new RawClient(server.kubeconfig);
    const client = c;
    const sock = join(server.dataDir, 'containerd', 'containerd.sock');
    const containerdPid = Number(readFileSync(join(server.dataDir, 'containerd', 'containerd.pid'), 'utf8'));
    const snapshotter = /snapshotter\s*=\s*"(\w+)"/.exec(readFileSync(join(server.dataDir, 'containerd', 'config.toml'), 'utf8'))?.[1] ?? 'overlayfs';

    // idle: node registered, no pods yet
    await sleep(3000);
    out.server_with_agent_idle_rss_mb = round(await idleRssMb(server.proc.pid));
    out.agent_idle_rss_mb = round(out.server_with_agent_idle_rss_mb - out.server_no_agent_idle_rss_mb);
    out.containerd_idle_rss_mb = round(rssMb(containerdPid));

    await agent.pushImage();

    times = new PodTimes(client);
    await times.start();
    const t = times;
    // warm-up: pulls the image onto the node (the measured pods find it present)
    await createPod(client, 'warmup', image);
    await until(() => (t.ready.has('warmup') ? true : undefined), 60_000, 'warm-up pod Ready');
    await deletePods(client, t, ['warmup'], 30_000);

    // baselines against the agent's own containerd, same image
    const ctr = await ctrBaseline(sock, image, snapshotter);
    out.baseline_ctr_run_p50_ms = round(ctr.p50);
    out.baseline_ctr_run_p99_ms = round(ctr.p99);
    out.baseline_ctr_runs = ctr.n;
    const cri = await criBaseline(sock, image);
    out.baseline_cri_sandbox_create_start_p50_ms = round(cri.p50);
    out.baseline_cri_sandbox_create_start_p99_ms = round(cri.p99);
    out.baseline_cri_run_sandbox_p50_ms = round(cri.sandboxP50);
    out.baseline_cri_runs = cri.n;
    const cd0 = cpuSeconds(containerdPid);
    const m0 = machineCpu();
    const cb = await criBurst(sock, image, BURST);
    out.baseline_cri_burst_machine_busy_pct = busyPct(m0, machineCpu());
    out.baseline_cri_burst_containerd_cpu_s = round(cpuSeconds(containerdPid) - cd0);
    out.baseline_cri_burst_all_started_ms = round(cb.allMs);
    out.baseline_cri_burst_p50_started_ms = round(cb.p50);
    out.baseline_cri_burst_started = cb.started;

    // sequential: each pod's create → Ready alone
    const seq: number[] = [];
    const created = new Map<string, number>();
    const seqNames: string[] = [];
    const seqDeadline = performance.now() + 180_000;
    for (let i = 0; i < SEQ && performance.now() < seqDeadline; i++) {
      const name = `seq-${i}`;
      seqNames.push(name);
      const t0 = performance.now();
      created.set(name, t0);
      await createPod(client, name, image);
      const at = await until(() => t.ready.get(name), 30_000, `${name} Ready`, 2);
      seq.push(at - t0);
    }
    out.seq_pods_ready = seq.length;
    out.start_latency_p50_ms = round(percentile(seq, 50));
    out.start_latency_p99_ms = round(percentile(seq, 99));
    out.start_latency_max_ms = round(Math.max(...seq));
    // where the time goes (p50 offsets from create, as seen through watches)
    const phase = (get: (n: string) => number | undefined) => {
      const xs = seqNames.map((n) => {
        const v = get(n);
        return v === undefined ? undefined : v - created.get(n)!;
      }).filter((x): x is number => x !== undefined);
      return round(percentile(xs, 50));
    };
    out.phase_bound_p50_ms = phase((n) => t.bound.get(n));
    for (const r of ['Scheduled', 'Pulled', 'Created', 'Started']) out[`phase_event_${r.toLowerCase()}_p50_ms`] = phase((n) => t.events.get(n)?.get(r));
    out.phase_ready_p50_ms = phase((n) => t.ready.get(n));
    out.rss_after_seq_mb = round(rssMb(server.proc.pid));
    const delOk = await deletePods(client, t, seqNames, 120_000);
    if (!delOk) process.stderr.write('bench pods: some sequential pods were not deleted in time\n');

    // burst: 100 at once on the one node
    const burstNames = Array.from({ length: BURST }, (_, i) => `burst-${i}`);
    const cpu0 = { server: cpuSeconds(server.proc.pid), containerd: cpuSeconds(containerdPid), machine: machineCpu() };
    const b0 = performance.now();
    await Promise.all(burstNames.map((n) => createPod(client, n, image)));
    out.burst_all_created_ms = round(performance.now() - b0);
    let allReady = true;
    await until(() => (burstNames.every((n) => t.ready.has(n)) ? true : undefined), 120_000, 'burst Ready', 20).catch(() => (allReady = false));
    const readyAt = burstNames.map((n) => t.ready.get(n)).filter((x): x is number => x !== undefined);
    out.burst_pods_ready = readyAt.length;
    out.burst_all_ready_ms = allReady ? round(Math.max(...readyAt) - b0) : -1;
    out.burst_first_ready_ms = readyAt.length ? round(Math.min(...readyAt) - b0) : -1;
    out.burst_p50_ready_ms = round(percentile(readyAt.map((x) => x - b0), 50));
    // CPU while the burst started: the server (apiserver, scheduler, controllers, kubelet) and containerd
    out.burst_machine_busy_pct = busyPct(cpu0.machine, machineCpu());
    out.burst_server_cpu_s = round(cpuSeconds(server.proc.pid) - cpu0.server);
    out.burst_containerd_cpu_s = round(cpuSeconds(containerdPid) - cpu0.containerd);
    const boundAt = burstNames.map((n) => t.bound.get(n)).filter((x): x is number => x !== undefined);
    out.burst_last_bound_ms = boundAt.length === BURST ? round(Math.max(...boundAt) - b0) : -1;
    // where the burst's time goes (Events arrive late under load: the recorders post them one by one)
    for (const r of ['Pulled', 'Started']) {
      const xs = burstNames.map((n) => t.events.get(n)?.get(r)).filter((x): x is number => x !== undefined);
      out[`burst_p50_event_${r.toLowerCase()}_ms`] = round(percentile(xs.map((x) => x - b0), 50));
    }
    out.server_rss_100_pods_mb = round(rssMb(server.proc.pid));
    out.containerd_rss_100_pods_mb = round(rssMb(containerdPid));
    const shims = shimsRssMb(sock);
    out.shims_rss_100_pods_mb = round(shims.mb);
    out.shims_100_pods = shims.count;
    const d0 = performance.now();
    const burstDel = await deletePods(client, t, burstNames, 120_000);
    out.burst_all_deleted_ms = burstDel ? round(performance.now() - d0) : -1;
  } finally {
    times?.close();
    if (agent) {
      // anything left (a failed run) goes before the agent stops: the agent keeps containers on stop
      const left = await agent.teardown({ selector: `app=${LABEL}`, timeoutSec: 60 });
      if (left.length) process.stderr.write(`bench pods: left behind:\n  ${left.join('\n  ')}\n`);
      out.leftovers = left.length;
    }
    c?.close();
  }
  return out;
}
