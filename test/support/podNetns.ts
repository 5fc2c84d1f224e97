// A node without containers, for proxy tests and benches: a "node" network
// namespace with a bridge, and "pod" namespaces on veths behind it, each able to
// run a command (a busybox httpd, a load client). Everything lives inside
// namespaces this helper creates and is removed by cleanup(), so addresses
// (10.42.x, 10.43.x) exist nowhere else; the service CIDR is routed to `lo` in
// the node so host → ClusterIP connects are DNATed (an `unreachable` route
// would fail them before iptables runs) and un-NATed traffic goes nowhere.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PodNs {
  ns: string;
  ip: string;
  /** the node-side veth end */
  hostVeth: string;
}

export interface PodNetwork {
  node: string;
  gateway: string;
  pods: PodNs[];
  /** `ip netns exec NS cmd args` (throws on failure), returns stdout */
  exec(ns: string, cmd: string, args: string[]): string;
  /** a long-running process inside a namespace, killed by cleanup() */
  spawnIn(ns: string, cmd: string, args: string[]): ChildProcess;
  /** busybox httpd on :port in every pod, answering `/` with the pod's name */
  startHttpd(port: number): void;
  cleanup(): void;
}

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

export function canRunNetns(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const tool of ['ip', 'iptables-restore', 'busybox', 'curl']) {
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `needs ${tool}`;
    }
  }
  return undefined;
}

/** subnet: the pods' /24 inside the node, e.g. '10.42.0' → gateway 10.42.0.1, pods .2, .3, … */
export function createPodNetwork(o: { pods: number; subnet?: string; serviceCidr?: string }): PodNetwork {
  const id = randomBytes(3).toString('hex');
  const subnet = o.subnet ?? '10.42.0';
  const node = `ktpx${id}`;
  const gateway = `${subnet}.1`;
  const procs: ChildProcess[] = [];
  const namespaces: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'k8ts-podns-'));
  const net: PodNetwork = {
    node,
    gateway,
    pods: [],
    exec: (ns, cmd, args) => sh('ip', ['netns', 'exec', ns, cmd, ...args]),
    spawnIn(ns, cmd, args) {
      const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: 'ignore' });
      procs.push(p);
      return p;
    },
    startHttpd(port) {
      for (const [i, p] of net.pods.entries()) {
        const www = join(dir, `www${i}`);
        mkdirSync(www, { recursive: true });
        writeFileSync(join(www, 'index.html'), `pod-${i}\n`);
        net.spawnIn(p.ns, 'busybox', ['httpd', '-f', '-p', String(port), '-h', www]);
      }
    },
    cleanup() {
      for (const p of procs) p.kill('SIGKILL');
      // deleting a namespace removes its veths, bridge, rules and routes
      for (const ns of [...namespaces].reverse()) {
        try {
          sh('ip', ['netns', 'del', ns]);
        } catch {}
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    sh('ip', ['netns', 'add', node]);
    namespaces.push(node);
    const n = (args: string[]) => sh('ip', ['-n', node, ...args]);
    n(['link', 'set', 'lo', 'up']);
    n(['link', 'add', 'br0', 'type', 'bridge']);
    n(['addr', 'add', `${gateway}/24`, 'dev', 'br0']);
    n(['link', 'set', 'br0', 'up']);
    n(['route', 'add', o.serviceCidr ?? '10.43.0.0/16', 'dev', 'lo']);
    net.exec(node, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
    // replies between pods on one bridge must pass conntrack to be un-DNATed
    try {
      net.exec(node, 'sysctl', ['-q', '-w', 'net.bridge.bridge-nf-call-iptables=1']);
    } catch {}
    for (let i = 0; i < o.pods; i++) {
      const ns = `${node}-p${i}`;
      const ip = `${subnet}.${i + 2}`;
      const hostVeth = `veth${i}`;
      sh('ip', ['netns', 'add', ns]);
      namespaces.push(ns);
      n(['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      n(['link', 'set', hostVeth, 'master', 'br0']);
      n(['link', 'set', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on']);
      n(['link', 'set', hostVeth, 'up']);
      const p = (args: string[]) => sh('ip', ['-n', ns, ...args]);
      p(['link', 'set', 'lo', 'up']);
      p(['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
      p(['link', 'set', 'eth0', 'up']);
      p(['route', 'add', 'default', 'via', gateway]);
      net.pods.push({ ns, ip, hostVeth });
    }
  } catch (e) {
    net.cleanup();
    throw e;
  }
  return net;
}
