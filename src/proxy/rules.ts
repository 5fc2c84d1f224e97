// iptables rules for Services, as pure functions of the service/endpoint model
// (no I/O: unit-tested on the text). The layout follows kube-proxy's iptables
// mode, with every chain name starting with the proxy's prefix P:
//
//  nat PREROUTING  -s clusterCidr → P-SERVICES   ClusterIP → P-SVC/P-SVL
//  nat PREROUTING               → P-EXTERNAL    externalIPs, LB ingress IPs → P-EXT
//  nat PREROUTING  dst LOCAL    → P-NODEPORTS   NodePorts (+ servicelb ports) → P-EXT
//  nat OUTPUT: the same three, for every local process
//  P-EXT (external policy) → P-SVC (all endpoints) or P-SVL (this node's)
//  P-SVC / P-SVL: DNAT to an endpoint (random: probability 1/(n-i); ClientIP
//    affinity with `recent`); traffic from an endpoint is marked (hairpin)
//  nat POSTROUTING → P-POSTROUTING: masquerade marked packets, 127/8 sources
//    leaving lo (NodePorts on 127.0.0.1), and pod traffic leaving the cluster CIDR
//  filter INPUT/FORWARD/OUTPUT (new connections) → P-SERVICES: REJECT for Services
//    without endpoints, DROP for Local policies without local endpoints.
import { createHash } from 'node:crypto';
import { type Endpoint, usableEndpoints } from './endpointsMap.js';
import type { ServicePort } from './serviceMap.js';

export interface RuleContext {
  /** ≤ 6 characters; every chain name starts with `${prefix}-` */
  prefix: string;
  clusterCidr: string;
  nodeName: string;
  /** the fwmark bit that asks P-POSTROUTING to masquerade (kube-proxy: 0x4000) */
  masqMark?: string;
}

export const DEFAULT_MASQ_MARK = '0x4000';

export interface ChainNames {
  services: string;
  external: string;
  nodePorts: string;
  postrouting: string;
  markMasq: string;
  /** filter table */
  filter: string;
}

export function baseChains(prefix: string): ChainNames {
  return {
    services: `${prefix}-SERVICES`,
    external: `${prefix}-EXTERNAL`,
    nodePorts: `${prefix}-NODEPORTS`,
    postrouting: `${prefix}-POSTROUTING`,
    markMasq: `${prefix}-MARK-MASQ`,
    filter: `${prefix}-SERVICES`,
  };
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** 16 base32 characters of sha256: short, stable, collision-safe chain suffixes (kube-proxy does the same). */
export function hashName(s: string): string {
  const d = createHash('sha256').update(s).digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; out.length < 16; i++) {
    value = (value << 8) | d[i]!;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** The rules one service port contributes. Chains it owns are rewritten only when they change. */
export interface ServicePortRules {
  id: string;
  /** nat chains owned by this port: name → its `-A` lines */
  chains: Map<string, string[]>;
  /** lines for the shared dispatch chains */
  services: string[];
  external: string[];
  nodePorts: string[];
  /** filter lines (REJECT / DROP) */
  filter: string[];
  /** endpoints traffic can reach (for UDP conntrack clean-up) */
  endpointIPs: string[];
}

const proto = (p: string) => p.toLowerCase();

function match(protocol: string, port: number): string {
  const p = proto(protocol);
  return `-p ${p} -m ${p} --dport ${port}`;
}

/** The rules for one service port given all its endpoints. */
export function servicePortRules(sp: ServicePort, eps: Endpoint[], ctx: RuleContext): ServicePortRules {
  const P = ctx.prefix;
  const base = baseChains(P);
  const h = hashName(sp.id);
  const svcChain = `${P}-SVC-${h}`;
  const svlChain = `${P}-SVL-${h}`;
  const extChain = `${P}-EXT-${h}`;
  const cluster = usableEndpoints(eps);
  const local = usableEndpoints(eps, ctx.nodeName);
  const internal = sp.internalPolicyLocal ? local : cluster;
  const internalChain = sp.internalPolicyLocal ? svlChain : svcChain;
  const hasExternal = sp.nodePort > 0 || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0 || sp.localLoadBalancer;
  const comment = `-m comment --comment "${sp.id}"`;
  const m = match(sp.protocol, sp.port);
  const r: ServicePortRules = { id: sp.id, chains: new Map(), services: [], external: [], nodePorts: [], filter: [], endpointIPs: cluster.map((e) => e.ip) };

  // Endpoints are DNATed right in P-SVC/P-SVL (no per-endpoint chain as in kube-proxy):
  // iptables-nft restore time grows much faster than linearly with the number of
  // chains (10k Services: ~60 s with 30k chains, ~3 s with 10k). The price: a pod
  // that is an endpoint of the Service is masqueraded whichever endpoint it lands
  // on (needed for the hairpin case, harmless for the others).
  const p = proto(sp.protocol);
  const affinityName = (e: Endpoint) => `${P}-SEP-${hashName(`${sp.id}|${e.ip}:${e.port}`)}`;
  const dnat = (e: Endpoint) => `-j DNAT --to-destination ${e.ip}:${e.port}`;
  const balance = (chain: string, targets: Endpoint[], lines: string[]) => {
    for (const e of targets) lines.push(`-A ${chain} -s ${e.ip}/32 -j ${base.markMasq}`); // hairpin
    const aff = sp.affinitySeconds > 0;
    if (aff) {
      for (const e of targets) lines.push(`-A ${chain} -p ${p} -m recent --name ${affinityName(e)} --mask 255.255.255.255 --rsource --rcheck --seconds ${sp.affinitySeconds} --reap ${dnat(e)}`);
    }
    const set = (e: Endpoint) => (aff ? `-m recent --name ${affinityName(e)} --mask 255.255.255.255 --rsource --set ` : '');
    const n = targets.length;
    targets.forEach((e, i) => {
      const stat = i < n - 1 ? `-m statistic --mode random --probability ${(1 / (n - i)).toFixed(10)} ` : '';
      lines.push(`-A ${chain} -p ${p} ${stat}${set(e)}${dnat(e)}`);
    });
  };

  // P-SVC: every usable endpoint (cluster policy); P-SVL: this node's
  const needSvc = (!sp.internalPolicyLocal && cluster.length > 0) || (hasExternal && cluster.length > 0);
  const needSvl = (sp.internalPolicyLocal && local.length > 0) || (hasExternal && sp.externalPolicyLocal && local.length > 0);
  // host processes (source outside the cluster CIDR) reaching a ClusterIP need SNAT so replies come back through us
  const masqLines = (chain: string) => sp.clusterIPs.map((ip) => `-A ${chain} ! -s ${ctx.clusterCidr} -d ${ip}/32 ${m} -j ${base.markMasq}`);
  if (needSvc) {
    const lines = sp.internalPolicyLocal ? [] : masqLines(svcChain);
    balance(svcChain, cluster, lines);
    r.chains.set(svcChain, lines);
  }
  if (needSvl) {
    const lines = sp.internalPolicyLocal ? masqLines(svlChain) : [];
    balance(svlChain, local, lines);
    r.chains.set(svlChain, lines);
  }

  // ClusterIP dispatch, or REJECT/DROP in filter
  for (const ip of sp.clusterIPs) {
    if (internal.length) r.services.push(`-A ${base.services} -d ${ip}/32 ${m} ${comment} -j ${internalChain}`);
    else r.filter.push(`-A ${base.filter} -d ${ip}/32 ${m} ${comment} -j ${cluster.length ? 'DROP' : reject(sp.protocol)}`);
  }

  if (hasExternal) {
    // external traffic (NodePort, externalIPs, LB) goes through P-EXT, which applies externalTrafficPolicy
    const extTargets = sp.externalPolicyLocal ? local : cluster;
    if (cluster.length) {
      const lines: string[] = [];
      if (!sp.externalPolicyLocal) {
        lines.push(`-A ${extChain} -j ${base.markMasq}`, `-A ${extChain} -j ${svcChain}`);
      } else {
        // pods and the node itself use every endpoint (no client IP to keep); others only local ones, unSNATed
        lines.push(`-A ${extChain} -s ${ctx.clusterCidr} -j ${svcChain}`);
        lines.push(`-A ${extChain} -m addrtype --src-type LOCAL -j ${base.markMasq}`);
        lines.push(`-A ${extChain} -m addrtype --src-type LOCAL -j ${svcChain}`);
        if (local.length) lines.push(`-A ${extChain} -j ${svlChain}`);
      }
      r.chains.set(extChain, lines);
      for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) r.external.push(`-A ${base.external} -d ${ip}/32 ${m} ${comment} -j ${extChain}`);
      if (sp.nodePort) r.nodePorts.push(`-A ${base.nodePorts} ${match(sp.protocol, sp.nodePort)} ${comment} -j ${extChain}`);
      if (sp.localLoadBalancer) r.nodePorts.push(`-A ${base.nodePorts} ${m} ${comment} -j ${extChain}`);
    }
    // what P-EXT did not DNAT: refused (no endpoints at all) or dropped (Local policy, none here)
    if (!extTargets.length) {
      const target = cluster.length ? 'DROP' : reject(sp.protocol);
      for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) r.filter.push(`-A ${base.filter} -d ${ip}/32 ${m} ${comment} -j ${target}`);
      if (sp.nodePort) r.filter.push(`-A ${base.filter} -m addrtype --dst-type LOCAL ${match(sp.protocol, sp.nodePort)} ${comment} -j ${target}`);
      if (sp.localLoadBalancer) r.filter.push(`-A ${base.filter} -m addrtype --dst-type LOCAL ${m} ${comment} -j ${target}`);
    }
  }

  return r;
}

function reject(protocol: string): string {
  return protocol === 'TCP' ? 'REJECT --reject-with tcp-reset' : 'REJECT --reject-with icmp-port-unreachable';
}

/** The shared nat chains' fixed rules, in order (the dispatch chains are filled from ServicePortRules). */
export function baseNatRules(ctx: RuleContext): string[] {
  const b = baseChains(ctx.prefix);
  const mark = ctx.masqMark ?? DEFAULT_MASQ_MARK;
  return [
    `-A ${b.markMasq} -j MARK --or-mark ${mark}`,
    ...basePostroutingRules(ctx),
    `-A ${b.postrouting} -m mark ! --mark ${mark}/${mark} -j RETURN`,
    // clear the bit so a re-traversal (tunnels) does not masquerade twice
    `-A ${b.postrouting} -j MARK --xor-mark ${mark}`,
    `-A ${b.postrouting} -m comment --comment "${ctx.prefix} service traffic requiring SNAT" -j MASQUERADE --random-fully`,
  ];
}

/** Rules in P-POSTROUTING that apply to unmarked packets; they go before the mark check. */
export function basePostroutingRules(ctx: RuleContext): string[] {
  const b = baseChains(ctx.prefix);
  return [
    // NodePorts on 127.0.0.1 (route_localnet=1): a loopback source cannot leave lo
    `-A ${b.postrouting} -s 127.0.0.0/8 ! -o lo -j MASQUERADE`,
    // pods reaching anything outside the pod network (the CNI bridge's ipMasq is off)
    `-A ${b.postrouting} -s ${ctx.clusterCidr} ! -d ${ctx.clusterCidr} -m comment --comment "${ctx.prefix} pod traffic leaving the cluster" -j MASQUERADE`,
  ];
}

export interface Jump {
  table: 'nat' | 'filter';
  chain: string;
  /** rule spec after `-A CHAIN` / `-I CHAIN` */
  rule: string[];
}

/** Jumps from the built-in chains into ours, in the order they should appear. */
export function jumps(ctx: RuleContext): Jump[] {
  const b = baseChains(ctx.prefix);
  const c = (what: string) => ['-m', 'comment', '--comment', `${ctx.prefix} ${what}`];
  const j: Jump[] = [];
  j.push({ table: 'nat', chain: 'PREROUTING', rule: ['-s', ctx.clusterCidr, ...c('cluster IPs'), '-j', b.services] });
  j.push({ table: 'nat', chain: 'PREROUTING', rule: [...c('external IPs'), '-j', b.external] });
  j.push({ table: 'nat', chain: 'PREROUTING', rule: ['-m', 'addrtype', '--dst-type', 'LOCAL', ...c('node ports'), '-j', b.nodePorts] });
  j.push({ table: 'nat', chain: 'OUTPUT', rule: [...c('cluster IPs'), '-j', b.services] });
  j.push({ table: 'nat', chain: 'OUTPUT', rule: [...c('external IPs'), '-j', b.external] });
  j.push({ table: 'nat', chain: 'OUTPUT', rule: ['-m', 'addrtype', '--dst-type', 'LOCAL', ...c('node ports'), '-j', b.nodePorts] });
  j.push({ table: 'nat', chain: 'POSTROUTING', rule: [...c('postrouting'), '-j', b.postrouting] });
  for (const chain of ['INPUT', 'FORWARD', 'OUTPUT']) {
    j.push({ table: 'filter', chain, rule: ['-m', 'conntrack', '--ctstate', 'NEW', ...c('service rejects'), '-j', b.filter] });
  }
  return j;
}

/** The nat chains every proxy keeps (besides the per-service ones). */
export function baseNatChainNames(prefix: string): string[] {
  const b = baseChains(prefix);
  return [b.services, b.external, b.nodePorts, b.postrouting, b.markMasq];
}

/** Is `name` a chain this prefix owns? */
export const ownsChain = (prefix: string, name: string) => name.startsWith(`${prefix}-`);

export interface RestoreInput {
  ctx: RuleContext;
  /** every service port's rules (for the dispatch chains and the filter table) */
  all: Iterable<ServicePortRules>;
  /** per-service chains to (re)write: name → lines */
  write: Map<string, string[]>;
  /** chains to delete (flushed first, then removed) */
  remove: Iterable<string>;
  /** the ClusterIP bucket chains the previous sync wrote (those no longer needed are deleted) */
  buckets?: ReadonlySet<string>;
}

/** Above this many ClusterIP rules the dispatch is split into /20 and /24 buckets. */
export const BUCKET_THRESHOLD = 128;

/**
 * A new connection walks the ClusterIP dispatch rule by rule: with 10,000
 * Services a flat P-SERVICES costs every new pod connection (Service or not)
 * ~2 ms. Above BUCKET_THRESHOLD rules, IPv4 ClusterIP rules move into
 * P-SV24-<a.b.c> chains reached through P-SV20-<a.b.c&0xf0> chains, so a
 * connection meets at most ~16 + 16 + (rules of its /24) matches.
 */
export function bucketDispatch(prefix: string, lines: string[]): { top: string[]; chains: Map<string, string[]> } {
  const chains = new Map<string, string[]>();
  if (lines.length <= BUCKET_THRESHOLD) return { top: lines, chains };
  const top: string[] = [];
  const hex = (a: number, b: number, c: number) => ((a << 16) | (b << 8) | c).toString(16).toUpperCase().padStart(6, '0');
  for (const l of lines) {
    const m = /^-A \S+ -d (\d+)\.(\d+)\.(\d+)\.\d+\/32 /.exec(l);
    if (!m) {
      top.push(l);
      continue;
    }
    const a = Number(m[1]);
    const b = Number(m[2]);
    const c = Number(m[3]);
    const c20 = c & 0xf0;
    const l20 = `${prefix}-SV20-${hex(a, b, c20)}`;
    const l24 = `${prefix}-SV24-${hex(a, b, c)}`;
    let first = chains.get(l20);
    if (!first) {
      chains.set(l20, (first = []));
      top.push(`-A ${prefix}-SERVICES -d ${a}.${b}.${c20}.0/20 -j ${l20}`);
    }
    let second = chains.get(l24);
    if (!second) {
      chains.set(l24, (second = []));
      first.push(`-A ${l20} -d ${a}.${b}.${c}.0/24 -j ${l24}`);
    }
    second.push(l.replace(/^-A \S+/, `-A ${l24}`));
  }
  return { top, chains };
}

/**
 * iptables-restore --noflush input: declaring a chain flushes it, so the dispatch
 * chains and the chains in `write` are replaced whole, others stay as they are.
 * Returns the text and the number of rules written per table.
 */
export function restoreText(inp: RestoreInput): { text: string; natRules: number; filterRules: number; buckets: Set<string> } {
  const { ctx } = inp;
  const b = baseChains(ctx.prefix);
  const decl: string[] = [];
  const body: string[] = [];
  for (const c of baseNatChainNames(ctx.prefix)) decl.push(`:${c} - [0:0]`);
  const filter: string[] = [];
  const nodePorts: string[] = [];
  const external: string[] = [];
  const services: string[] = [];
  for (const r of inp.all) {
    for (const l of r.services) services.push(l);
    for (const l of r.external) external.push(l);
    for (const l of r.nodePorts) nodePorts.push(l);
    for (const l of r.filter) filter.push(l);
  }
  const dispatch = bucketDispatch(ctx.prefix, services);
  const buckets = new Set(dispatch.chains.keys());
  // (a leftover bucket chain of an earlier run that is needed again is kept, not removed)
  const removed = [...new Set([...inp.remove, ...(inp.buckets ?? [])])].filter((c) => !buckets.has(c));
  // declared in name order: iptables-nft keeps chains sorted, and sorted input
  // makes each insert cheap (10k Services: 3 s instead of 6 s)
  const names = [...inp.write.keys(), ...buckets, ...removed].sort();
  for (const c of names) decl.push(`:${c} - [0:0]`);
  body.push(...baseNatRules(ctx));
  for (const l of dispatch.top) body.push(l);
  for (const lines of dispatch.chains.values()) for (const l of lines) body.push(l);
  for (const l of external) body.push(l);
  for (const l of nodePorts) body.push(l);
  for (const lines of inp.write.values()) for (const l of lines) body.push(l);
  const natRules = body.length;
  const del = removed.map((c) => `-X ${c}`);
  const text =
    `*nat\n${decl.join('\n')}\n${body.join('\n')}\n${del.length ? del.join('\n') + '\n' : ''}COMMIT\n` +
    `*filter\n:${b.filter} - [0:0]\n${filter.length ? filter.join('\n') + '\n' : ''}COMMIT\n`;
  return { text, natRules, filterRules: filter.length, buckets };
}
