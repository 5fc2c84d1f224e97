// Host-gw pod network between nodes (flannel's host-gw backend, k3s's default
// with --flannel-backend=host-gw): for every OTHER node with a podCIDR and an
// InternalIP on a network this node is directly connected to, a kernel route
// `<podCIDR> via <InternalIP>`. Pods then reach pods on other nodes without
// encapsulation; each node forwards between its eth and its pod bridge.
// Routes follow the Node objects (added, changed, deleted) and all go on stop.
// `ip` runs asynchronously, one call at a time; a burst of Node updates
// (heartbeats every few seconds) costs nothing unless a route would change.
import { execFile } from 'node:child_process';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { maskV4, parseIPv4 } from '../api/cidr.js';
import type { Informer } from '../client/informer.js';

export interface NodeRoutesOptions {
  /** a Node informer the caller starts (and stops) */
  nodes: Informer<Node & KubeObject>;
  /** this node: its own podCIDR is on its bridge, never routed */
  nodeName: string;
  log: Logger;
  /** run `ip` inside this network namespace (`ip -n NAME`); default: the current one */
  netns?: string;
  /** full resync (routes removed behind our back come back), ms; default 60 s */
  resyncMs?: number;
  /** runs `ip ARGS` and returns stdout (tests replace it) */
  ip?: (args: string[]) => Promise<string>;
  /** turns on IP forwarding before the first route (tests replace it); default: sysctl in the node's netns */
  enableForwarding?: (ipv6: boolean) => Promise<void>;
}

export interface NodeRoutes {
  /** podCIDR → gateway (the other node's InternalIP) currently installed */
  routes(): Map<string, string>;
  /** reconcile now (also what every Node event schedules) */
  sync(): Promise<void>;
  /** removes every route this instance installed */
  stop(): Promise<void>;
}

/** A local interface network, e.g. 192.168.7.11/24. */
export interface LocalNet {
  address: string;
  prefix: number;
}

/** The podCIDRs of other nodes and the InternalIP of each (same family as the CIDR). */
export function candidateRoutes(nodes: Iterable<Node>, self: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of nodes) {
    if (!n.metadata?.name || n.metadata.name === self || n.metadata.deletionTimestamp) continue;
    const cidrs = n.spec?.podCIDRs?.length ? n.spec.podCIDRs : n.spec?.podCIDR ? [n.spec.podCIDR] : [];
    const ips = (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
    for (const cidr of cidrs) {
      const v6 = cidr.includes(':');
      const via = ips.find((ip) => ip.includes(':') === v6);
      if (via) out.set(cidr, via);
    }
  }
  return out;
}

function v6ToBigInt(ip: string): bigint | undefined {
  const [head, tail] = ip.split('::');
  if (ip.split('::').length > 2) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  if (groups.length !== 8) return undefined;
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  return n;
}

/** Whether IP lies inside NET/PREFIX (same family). */
export function inSubnet(ip: string, net: LocalNet): boolean {
  if (ip.includes(':') !== net.address.includes(':')) return false;
  if (!ip.includes(':')) {
    const a = parseIPv4(ip);
    const b = parseIPv4(net.address);
    if (a === undefined || b === undefined) return false;
    const mask = maskV4(net.prefix);
    return ((a & mask) >>> 0) === ((b & mask) >>> 0);
  }
  const a = v6ToBigInt(ip);
  const b = v6ToBigInt(net.address);
  if (a === undefined || b === undefined) return false;
  const shift = BigInt(128 - net.prefix);
  return a >> shift === b >> shift;
}

/** Only gateways we can reach in one hop, that are not loopback and not ourselves. */
export function directlyConnected(candidates: Map<string, string>, nets: LocalNet[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [cidr, via] of candidates) {
    if (via.startsWith('127.') || via === '::1') continue;
    if (nets.some((n) => n.address === via)) continue; // our own address: the CIDR is a stale copy of ours
    if (nets.some((n) => n.prefix < (via.includes(':') ? 128 : 32) && inSubnet(via, n))) out.set(cidr, via);
  }
  return out;
}

/** Parses `ip -j addr show` into the non-loopback interface networks. */
export function parseAddrs(json: string): LocalNet[] {
  const out: LocalNet[] = [];
  let links: { ifname?: string; addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[] }[] = [];
  try {
    links = JSON.parse(json || '[]');
  } catch {
    return out;
  }
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      if (!a.local || a.prefixlen === undefined || a.scope === 'host' || a.scope === 'link') continue;
      out.push({ address: a.local, prefix: a.prefixlen });
    }
  }
  return out;
}

function runIp(netns: string | undefined) {
  return (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      execFile('ip', [...(netns ? ['-n', netns] : []), ...args], { timeout: 10_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`ip ${args.join(' ')}: ${String(stderr).trim() || err.message}`));
        else resolve(stdout);
      });
    });
}

function sysctlForwarding(netns: string | undefined) {
  return (ipv6: boolean) =>
    new Promise<void>((resolve, reject) => {
      const kv = ['net.ipv4.ip_forward=1', ...(ipv6 ? ['net.ipv6.conf.all.forwarding=1'] : [])];
      const [cmd, args] = netns ? ['ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', ...kv]] : ['sysctl', ['-q', '-w', ...kv]];
      execFile(cmd as string, args as string[], { timeout: 10_000 }, (err, _out, stderr) => (err ? reject(new Error(String(stderr).trim() || err.message)) : resolve()));
    });
}

const sameMap = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

export async function startNodeRoutes(o: NodeRoutesOptions): Promise<NodeRoutes> {
  const ip = o.ip ?? runIp(o.netns);
  const log = o.log;
  const installed = new Map<string, string>();
  let lastCandidates = new Map<string, string>();
  let forwardingChecked = false;
  let stopped = false;
  // one reconcile at a time; events during a run ask for one more run
  let running: Promise<void> | undefined;
  let again = false;

  const enableForwarding = o.enableForwarding ?? sysctlForwarding(o.netns);
  const ensureForwarding = async () => {
    if (forwardingChecked) return;
    forwardingChecked = true;
    // a node routes between its eth and its pod bridge (the CNI bridge plugin sets this too, but only once a pod starts)
    await enableForwarding([...installed.keys()].some((c) => c.includes(':'))).catch((e) =>
      log.warn({ err: (e as Error).message }, "cannot turn on IP forwarding: pods on other nodes will not reach this node's pods"),
    );
  };

  const reconcile = async () => {
    const candidates = candidateRoutes(o.nodes.list(), o.nodeName);
    lastCandidates = candidates;
    const nets = candidates.size ? parseAddrs(await ip(['-j', 'addr', 'show'])) : [];
    const want = directlyConnected(candidates, nets);
    for (const [cidr, via] of candidates) if (!want.has(cidr) && installed.get(cidr) !== via) log.debug({ cidr, via }, 'node not directly connected: no host-gw route');
    for (const [cidr, via] of installed) {
      if (want.get(cidr) === via) continue;
      await ip(['route', 'del', cidr, 'via', via]).catch((e) => log.debug({ err: (e as Error).message }, 'route already gone'));
      installed.delete(cidr);
      log.info({ cidr, via }, 'removed route to another node\'s pods');
    }
    for (const [cidr, via] of want) {
      if (stopped) return;
      if (installed.get(cidr) === via) {
        // already ours: put it back if it went missing (periodic resync)
        const have = await ip(['route', 'show', cidr]).catch(() => '');
        if (have.includes(`via ${via}`)) continue;
      }
      installed.set(cidr, via);
      await ensureForwarding();
      try {
        await ip(['route', 'replace', cidr, 'via', via]);
        log.info({ cidr, via }, 'route to another node\'s pods');
      } catch (e) {
        installed.delete(cidr);
        log.warn({ cidr, via, err: (e as Error).message }, 'cannot add a route to another node\'s pods');
      }
    }
  };

  const sync = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await reconcile();
        } catch (e) {
          log.warn({ err: (e as Error).message }, 'node routes sync failed');
        }
      } while (again && !stopped);
    })().finally(() => (running = undefined));
    return running;
  };

  // Node heartbeats update status every few seconds: only a change in podCIDR/InternalIP schedules work
  const onChange = () => {
    if (!sameMap(candidateRoutes(o.nodes.list(), o.nodeName), lastCandidates)) void sync();
  };
  o.nodes.addEventHandler({ onAdd: onChange, onUpdate: onChange, onDelete: onChange });
  await o.nodes.waitForSync();
  await sync();
  const timer = setInterval(() => void sync(), o.resyncMs ?? 60_000);
  timer.unref?.();

  return {
    routes: () => new Map(installed),
    sync,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      for (const [cidr, via] of installed) {
        await ip(['route', 'del', cidr, 'via', via]).catch(() => undefined);
      }
      installed.clear();
    },
  };
}
