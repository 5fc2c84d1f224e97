// A multi-node k8ts cluster on one machine, kind-style but with network
// namespaces instead of containers: the server runs in the root netns, each node
// (`k8ts agent` with its own containerd) in a netns of its own, all joined by a
// private 192.168.X.0/24 that exists only here.
//
//   root netns                 switch netns (ktmn<hex>-sw)       node netns (ktmn<hex>-<i>)
//   ktmn<hex> 192.168.X.1 ──── br0 ──── n<i> ─────────────────── eth0 192.168.X.(10+i)
//   k8ts server (API, registry)                                   k8ts agent, containerd, pods
//
// The switch lives in its own netns so that bridged frames between nodes never
// meet the root netns's iptables (br_netfilter): other tests' proxies run there.
// Nodes use the default 10.42.0.0/16 pod and 10.43.0.0/16 service ranges; their
// routes exist only inside the node namespaces. Nothing here has a default route.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { cli, eventually, run, startServer, type RunResult, type TestServer } from './cluster.js';
import { criSkipReason, hostNetSnapshot } from './criNode.js';
import { buildBusyboxImage, busyboxAvailable } from './images.js';

export interface NetnsNode {
  name: string;
  netns: string;
  ip: string;
  dataDir: string;
  proc: ChildProcess;
  logs(): string;
}

export interface NetnsCluster {
  s: TestServer;
  /** e.g. "192.168.213" */
  subnet: string;
  /** the root netns's address on the node network (server, registry) */
  hostIP: string;
  registryPort: number;
  /** the busybox test image as pods name it (pulled from the server's registry through each node's mirror) */
  image: string;
  nodes: NetnsNode[];
  /** runs a command inside node i's network namespace (from the root mount namespace) */
  inNode(i: number, cmd: string, args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  /** the node Objects (kubectl get nodes -o json) */
  nodeObjects(): Promise<any[]>;
  /** deletes pods, stops agents and server, removes namespaces and links; returns what was left behind */
  teardown(): Promise<string[]>;
}

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (cmd: string, args: string[]): string => {
  try {
    return sh(cmd, args);
  } catch {
    return '';
  }
};

export function netnsSkipReason(): string | undefined {
  return (
    criSkipReason() ??
    (!busyboxAvailable() ? 'multi-node test skipped: needs /usr/bin/busybox (busybox-static)' : undefined) ??
    (!existsSync('/usr/bin/skopeo') ? 'multi-node test skipped: needs skopeo' : undefined) ??
    (!existsSync('/usr/bin/nsenter') ? 'multi-node test skipped: needs nsenter (util-linux)' : undefined) ??
    (!existsSync('/usr/bin/curl') ? 'multi-node test skipped: needs curl' : undefined)
  );
}

/** A 192.168.X.0/24 (200 ≤ X ≤ 250) no address or route on this machine uses. */
function freeSubnet(): string {
  const used = quiet('ip', ['-4', 'addr', 'show']) + quiet('ip', ['-4', 'route', 'show']);
  for (let i = 0; i < 50; i++) {
    const s = `192.168.${200 + (randomBytes(1)[0]! % 51)}`;
    if (!used.includes(`${s}.`)) return s;
  }
  throw new Error('no free 192.168.200-250.0/24 here');
}

export async function startNetnsCluster(opts: { nodes?: number; serverArgs?: string[]; agentArgs?: string[]; readyTimeoutMs?: number; logLevel?: string } = {}): Promise<NetnsCluster> {
  const count = opts.nodes ?? 2;
  const hex = randomBytes(2).toString('hex');
  const prefix = `ktmn${hex}`;
  const sw = `${prefix}-sw`;
  const subnet = freeSubnet();
  const hostIP = `${subnet}.1`;
  const host = hostNetSnapshot(prefix); // restore() deletes the root veth and system dirs this run created
  const netnsList: string[] = [];
  const nodes: NetnsNode[] = [];
  let s: TestServer | undefined;

  const teardown = async (): Promise<string[]> => {
    const left: string[] = [];
    if (s) {
      // pods first: each agent removes its sandboxes (veths, netns files, mounts); agents keep containers on stop
      const r = await s.kubectl(['delete', 'pods', '--all', '-A', '--grace-period=1', '--timeout=40s'], { timeoutMs: 50_000 });
      if (r.code !== 0) left.push(`pods not deleted: ${r.stderr.trim()}`);
    }
    await Promise.all(
      nodes.map(async (n) => {
        if (n.proc.exitCode !== null || n.proc.signalCode !== null) return;
        const exited = new Promise<void>((r) => n.proc.once('exit', () => r()));
        n.proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (n.proc.exitCode === null && n.proc.signalCode === null) {
          left.push(`agent ${n.name} ignored SIGTERM`);
          n.proc.kill('SIGKILL');
          await exited;
        }
      }),
    );
    if (s) await s.stop();
    // what the nodes left: mounts under their data dirs, pod netns files, processes still running from them
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    for (const n of nodes) {
      for (const line of mounts) if (line.includes(n.dataDir)) left.push(`${n.name} mount: ${line.split(' ')[4]}`);
      const netnsDir = `${n.dataDir}/containerd/state/io.containerd.grpc.v1.cri/netns`;
      if (existsSync(netnsDir) && readdirSync(netnsDir).length) left.push(`${n.name} pod netns files: ${readdirSync(netnsDir).join(' ')}`);
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue;
        }
        if (cmdline.includes(n.dataDir)) left.push(`${n.name} process ${pid}: ${cmdline.replace(/\0/g, ' ').slice(0, 120)}`);
      }
    }
    for (const ns of [...netnsList].reverse()) quiet('ip', ['netns', 'del', ns]);
    host.restore();
    if (quiet('ip', ['netns', 'list']).includes(prefix)) left.push(`netns left: ${quiet('ip', ['netns', 'list'])}`);
    if (quiet('ip', ['-o', 'link', 'show']).includes(prefix)) left.push(`link ${prefix} left`);
    if (quiet('ip', ['-4', 'route', 'show']).includes(`${subnet}.`)) left.push(`route to ${subnet}.0/24 left`);
    for (const n of nodes) if (!left.some((l) => l.startsWith(n.name))) rmSync(n.dataDir, { recursive: true, force: true });
    return left;
  };

  try {
    const img = buildBusyboxImage();
    img.catch(() => {});
    // the switch, and the root's port on it
    sh('ip', ['netns', 'add', sw]);
    netnsList.push(sw);
    sh('ip', ['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);
    sh('ip', ['link', 'add', prefix, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', sw]);
    sh('ip', ['-n', sw, 'link', 'set', 'uplink', 'master', 'br0', 'up']);
    sh('ip', ['addr', 'add', `${hostIP}/24`, 'dev', prefix]);
    sh('ip', ['link', 'set', prefix, 'up']);
    // the node namespaces: eth0 on the switch, lo up, no default route
    for (let i = 1; i <= count; i++) {
      const ns = `${prefix}-${i}`;
      sh('ip', ['netns', 'add', ns]);
      netnsList.push(ns);
      sh('ip', ['-n', sw, 'link', 'add', `n${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      sh('ip', ['-n', sw, 'link', 'set', `n${i}`, 'master', 'br0', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', `${subnet}.${10 + i}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }

    // the server listens on the node network only (its serving cert names that address)
    s = await startServer({ host: hostIP, args: ['--registry-port', '0', '--registry-bind', hostIP, '--log-level', opts.logLevel ?? 'warn', ...(opts.serverArgs ?? [])] });
    const registryPort = Number(new RegExp(`registry listening on ${hostIP.replace(/\./g, '\\.')}:(\\d+)`).exec(s.logs())?.[1]);
    assert.ok(registryPort > 0, `no registry port in:\n${s.logs()}`);
    const built = await img;
    const pushed = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${built.layoutDir}:latest`, `docker://${hostIP}:${registryPort}/busybox:1`], { timeoutMs: 30_000 });
    assert.equal(pushed.code, 0, pushed.stderr);
    const token = `${s.dataDir}/token`;

    for (let i = 1; i <= count; i++) {
      const netns = `${prefix}-${i}`;
      const ip = `${subnet}.${10 + i}`;
      const name = `node-${i}`;
      const dataDir = mkdtempSync('/tmp/k8ts-mn-');
      let log = '';
      // nsenter --net keeps the root mount namespace: containerd's mounts stay visible to the leftover check
      const proc = spawn(
        'nsenter',
        [`--net=/run/netns/${netns}`, process.execPath, cli, 'agent', '--server', s.url, '--token', `@${token}`, '--node-name', name, '--node-ip', ip, '--data-dir', dataDir, '--registry-port', String(registryPort), '--dns-upstream', 'none', '--log-level', opts.logLevel ?? 'warn', ...(opts.agentArgs ?? [])],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      proc.stdout!.on('data', (d) => (log += d));
      proc.stderr!.on('data', (d) => (log += d));
      nodes.push({ name, netns, ip, dataDir, proc, logs: () => log });
    }

    const nodeObjects = async () => JSON.parse(await s!.k(['get', 'nodes', '-o', 'json'])).items as any[];
    await eventually(
      async () => {
        for (const n of nodes) if (n.proc.exitCode !== null) throw new Error(`agent ${n.name} exited (${n.proc.exitCode}):\n${n.logs()}`);
        const list = await nodeObjects();
        const ready = list.filter((n) => n.spec?.podCIDR && n.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True');
        return ready.length === count;
      },
      opts.readyTimeoutMs ?? 60_000,
      `${count} netns nodes Ready`,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\n${nodes.map((n) => `--- ${n.name}\n${n.logs().slice(-3000)}`).join('\n')}`);
    });

    return {
      s,
      subnet,
      hostIP,
      registryPort,
      image: `127.0.0.1:${registryPort}/busybox:1`,
      nodes,
      inNode: (i, cmd, args, o = {}) => run('nsenter', [`--net=/run/netns/${nodes[i - 1]!.netns}`, cmd, ...args], { timeoutMs: o.timeoutMs ?? 30_000 }),
      nodeObjects,
      teardown,
    };
  } catch (e) {
    const left = await teardown().catch((err) => [`teardown failed: ${(err as Error).message}`]);
    if (left.length) (e as Error).message += `\n(left behind: ${left.join('; ')})`;
    throw e;
  }
}
