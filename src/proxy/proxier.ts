// kube-proxy (iptables mode): follows Services and EndpointSlices through shared
// informers and keeps the kernel's NAT rules equal to them. Events only mark a
// Service dirty; a sync (at most one at a time, coalesced over syncDelayMs and
// spaced by minSyncIntervalMs) recomputes the dirty Services' rules, rewrites
// only the chains that changed plus the dispatch chains (a partial sync), and
// applies them with one iptables-restore. A full sync (every chain rewritten,
// leftovers removed, jumps checked) runs at start, after a failure and every
// fullSyncPeriodMs. See rules.ts for the chain layout.
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeObject } from '../api/kind.js';
import { type Informer, keyOf } from '../client/informer.js';
import { ConntrackCleaner, type UdpChange } from './conntrack.js';
import { EndpointsMap, portKey } from './endpointsMap.js';
import { chainsIn, Iptables } from './iptables.js';
import { ProxyMetrics } from './metrics.js';
import { baseChains, baseNatChainNames, jumps, ownsChain, restoreText, type RuleContext, type ServicePortRules, servicePortRules } from './rules.js';
import { type ServicePort, servicePortsOf } from './serviceMap.js';

export interface ProxyOptions {
  /** shared informers (already started or not: the proxy waits for their first sync; someone must start them) */
  services: Informer<Service & KubeObject>;
  endpointSlices: Informer<EndpointSlice & KubeObject>;
  nodeName: string;
  /** this node's addresses (InternalIP etc.); NodePorts answer on every local address anyway */
  nodeIPs: string[];
  /** pods; traffic from here to a ClusterIP is "internal" (no SNAT) */
  clusterCidr: string;
  serviceCidr: string;
  /** unique per proxy instance in one netns: every chain name starts with it (≤ 6 chars, e.g. "KT3f9a") */
  chainPrefix: string;
  log: Logger;
  /** prom-client registry for the sync metrics (default: a private one) */
  metrics?: Registry;
  /** batch window for event-driven syncs (default 30 ms) */
  syncDelayMs?: number;
  /** at least this long between the starts of two syncs, so bursts coalesce (default 200 ms) */
  minSyncIntervalMs?: number;
  /** full resync period (default 60 s) */
  fullSyncPeriodMs?: number;
  /** run iptables inside this netns (`ip netns exec NAME`); default: the current netns */
  netns?: string;
}

export interface ProxyStats {
  syncs: number;
  fullSyncs: number;
  partialSyncs: number;
  failedSyncs: number;
  /** ms */
  lastSyncMs: number;
  lastFullSyncMs: number;
  lastPartialSyncMs: number;
  /** Date.now() of the last successful sync */
  lastSyncAt: number;
  services: number;
  servicePorts: number;
  /** rules written by the last sync (nat: dispatch + rewritten chains; filter: all) */
  natRules: number;
  filterRules: number;
  /** per-service chains in the kernel */
  chains: number;
}

export interface Proxy {
  /** Applies pending changes now (a full sync if one is due); resolves when the rules are in. */
  syncNow(opts?: { full?: boolean }): Promise<void>;
  /** Stops syncing; by default removes every chain and jump it created and restores route_localnet. */
  stop(opts?: { cleanup?: boolean }): Promise<void>;
  stats(): ProxyStats;
}

const ROUTE_LOCALNET = 'net.ipv4.conf.all.route_localnet';
const STATE_DIR = '/run/k8ts-proxy';

export async function startProxy(o: ProxyOptions): Promise<Proxy> {
  if (!/^[A-Za-z][A-Za-z0-9]{0,5}$/.test(o.chainPrefix)) throw new Error(`proxy chainPrefix must be 1-6 letters/digits, got "${o.chainPrefix}"`);
  const p = new Proxier(o);
  await p.start();
  return p;
}

class Proxier implements Proxy {
  private readonly ipt: Iptables;
  private readonly ctx: RuleContext;
  private readonly log: Logger;
  private readonly metrics: ProxyMetrics;
  private readonly conntrack: ConntrackCleaner;
  private readonly endpoints = new EndpointsMap();
  /** applied rules per service port id */
  private rules = new Map<string, ServicePortRules>();
  private readonly portsBySvc = new Map<string, ServicePort[]>();
  /** per-service chains in the kernel → their lines joined (what we last wrote) */
  private readonly chains = new Map<string, string>();
  /** our chains found at start that nobody wants (a previous run's); removed by the first full sync */
  private leftovers = new Set<string>();
  /** ClusterIP bucket chains written by the last sync (rules.ts bucketDispatch) */
  private buckets = new Set<string>();
  private dirty = new Set<string>();
  private needFull = true;
  private timer?: NodeJS.Timeout;
  private fullTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private syncing: Promise<void> = Promise.resolve();
  private inFlight = false;
  private lastSyncStart = 0;
  private failures = 0;
  private stopped = false;
  private changedLocalnet = false;
  private readonly st: ProxyStats = { syncs: 0, fullSyncs: 0, partialSyncs: 0, failedSyncs: 0, lastSyncMs: 0, lastFullSyncMs: 0, lastPartialSyncMs: 0, lastSyncAt: 0, services: 0, servicePorts: 0, natRules: 0, filterRules: 0, chains: 0 };
  private readonly syncDelayMs: number;
  private readonly minIntervalMs: number;

  constructor(private readonly o: ProxyOptions) {
    this.ipt = new Iptables(o.netns);
    this.ctx = { prefix: o.chainPrefix, clusterCidr: o.clusterCidr, nodeName: o.nodeName };
    this.log = o.log;
    this.metrics = new ProxyMetrics(o.metrics);
    this.conntrack = new ConntrackCleaner(this.ipt, o.log);
    this.syncDelayMs = o.syncDelayMs ?? 30;
    this.minIntervalMs = o.minSyncIntervalMs ?? 200;
  }

  async start(): Promise<void> {
    const { nat, filter } = await this.saveOurs();
    const natBase = new Set(baseNatChainNames(this.o.chainPrefix));
    this.leftovers = new Set(nat.filter((c) => !natBase.has(c)));
    if (filter.some((c) => c !== baseChains(this.o.chainPrefix).filter)) this.log.warn({ chains: filter }, 'unexpected filter chains with our prefix');
    await this.enableRouteLocalnet();

    this.o.services.addEventHandler({
      onAdd: (s) => this.markDirty(keyOf(s)),
      onUpdate: (_o, s) => this.markDirty(keyOf(s)),
      onDelete: (s) => this.markDirty(keyOf(s)),
    });
    this.o.endpointSlices.addEventHandler({
      onAdd: (s) => this.endpoints.upsert(s).forEach((k) => this.markDirty(k)),
      onUpdate: (_o, s) => this.endpoints.upsert(s).forEach((k) => this.markDirty(k)),
      onDelete: (s) => this.endpoints.remove(keyOf(s)).forEach((k) => this.markDirty(k)),
    });
    await Promise.all([this.o.services.waitForSync(), this.o.endpointSlices.waitForSync()]);
    // replayed adds already scheduled a sync: cancel it, the first full sync covers them
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.syncNow({ full: true });
    if (this.st.fullSyncs === 0) {
      await this.stop();
      throw new Error('the first iptables sync failed (see the log); is iptables (nf_tables) available and are we root?');
    }
    this.fullTimer = setInterval(() => {
      this.needFull = true;
      this.schedule();
    }, this.o.fullSyncPeriodMs ?? 60_000);
    this.fullTimer.unref?.();
  }

  private markDirty(key: string): void {
    if (this.stopped) return;
    this.dirty.add(key);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.inFlight) return;
    const wait = Math.max(this.syncDelayMs, this.lastSyncStart + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.syncNow();
    }, wait);
  }

  syncNow(opts: { full?: boolean } = {}): Promise<void> {
    if (opts.full) this.needFull = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.syncing.then(async () => {
      if (this.stopped) return;
      this.inFlight = true;
      try {
        await this.sync();
      } finally {
        this.inFlight = false;
      }
      if (this.dirty.size || this.needFull) this.schedule();
    });
    this.syncing = run.catch(() => {});
    return run;
  }

  private async sync(): Promise<void> {
    const full = this.needFull;
    if (!full && !this.dirty.size) return;
    const t0 = performance.now();
    this.lastSyncStart = Date.now();
    const keys = full ? new Set([...this.o.services.list().map((s) => keyOf(s)), ...this.portsBySvc.keys()]) : this.dirty;
    this.dirty = new Set();
    this.needFull = false;

    const next = new Map(this.rules);
    const nextPorts = new Map<string, ServicePort[]>();
    const write = new Map<string, string[]>();
    const remove = new Set<string>();
    const wanted = new Set<string>(); // chains of the recomputed keys
    const udp: UdpChange[] = [];
    let dispatchChanged = full;
    for (const key of keys) {
      const old = this.portsBySvc.get(key) ?? [];
      const svc = this.o.services.get(key);
      const ports = svc ? servicePortsOf(svc) : [];
      nextPorts.set(key, ports);
      const eps = ports.length ? this.endpoints.endpointsOf(key) : new Map();
      const oldIds = new Set(old.map((p) => p.id));
      const oldRules = old.map((p) => this.rules.get(p.id)).filter((r): r is ServicePortRules => !!r);
      for (const p of old) next.delete(p.id);
      for (const p of ports) {
        const r = servicePortRules(p, eps.get(portKey(p.portName, p.protocol)) ?? [], this.ctx);
        next.set(p.id, r);
        const prev = this.rules.get(p.id);
        if (!dispatchChanged && (!prev || !sameDispatch(prev, r))) dispatchChanged = true;
        for (const [name, lines] of r.chains) {
          wanted.add(name);
          if (full || this.chains.get(name) !== lines.join('\n')) write.set(name, lines);
        }
        if (p.protocol === 'UDP' && prev && oldIds.has(p.id)) {
          const now = new Set(r.endpointIPs);
          const removed = prev.endpointIPs.filter((ip) => !now.has(ip));
          const gotEndpoints = prev.endpointIPs.length === 0 && r.endpointIPs.length > 0;
          if (removed.length || gotEndpoints) udp.push({ vips: [...p.clusterIPs, ...p.externalIPs, ...p.loadBalancerIPs], port: p.port, nodePort: p.nodePort, removed, gotEndpoints });
        }
      }
      if (ports.length !== old.length || ports.some((p) => !oldIds.has(p.id))) dispatchChanged = true;
      for (const r of oldRules) for (const name of r.chains.keys()) if (!wanted.has(name)) remove.add(name);
    }
    if (full) {
      // every chain we know of and nobody wants any more goes
      const all = new Set<string>();
      for (const r of next.values()) for (const name of r.chains.keys()) all.add(name);
      for (const name of [...this.chains.keys(), ...this.leftovers]) if (!all.has(name)) remove.add(name);
      for (const r of next.values()) for (const [name, lines] of r.chains) write.set(name, lines);
    }
    for (const name of remove) if (wanted.has(name) || write.has(name)) remove.delete(name);

    if (!full && !dispatchChanged && !write.size && !remove.size) {
      this.commitState(next, nextPorts, write, remove);
      return;
    }
    const { text, natRules, filterRules, buckets } = restoreText({ ctx: this.ctx, all: next.values(), write, remove, buckets: this.buckets });
    try {
      await this.ipt.restore(text);
      if (full) for (const j of jumps(this.ctx)) await this.ipt.ensureJump(j);
    } catch (e) {
      this.st.failedSyncs++;
      this.failures++;
      // recompute everything next time; retry with back-off
      this.needFull = true;
      for (const k of keys) this.dirty.add(k);
      const delay = Math.min(1000 * 2 ** (this.failures - 1), 30_000);
      this.log.error({ err: (e as Error).message, retryInMs: delay }, 'proxy rule sync failed');
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.schedule(), delay);
      this.retryTimer.unref?.();
      return;
    }
    this.failures = 0;
    this.buckets = buckets;
    this.commitState(next, nextPorts, write, remove);
    if (full) this.leftovers.clear();
    if (udp.length) void this.conntrack.clear(udp);

    const ms = performance.now() - t0;
    const st = this.st;
    st.syncs++;
    st.lastSyncMs = ms;
    st.lastSyncAt = Date.now();
    st.natRules = natRules;
    st.filterRules = filterRules;
    if (full) {
      st.fullSyncs++;
      st.lastFullSyncMs = ms;
      this.metrics.rules.set({ table: 'nat' }, natRules);
      this.metrics.rules.set({ table: 'filter' }, filterRules);
    } else {
      st.partialSyncs++;
      st.lastPartialSyncMs = ms;
    }
    this.metrics.syncDuration.observe({ mode: full ? 'full' : 'partial' }, ms / 1000);
    this.metrics.lastSync.set(Date.now() / 1000);
    this.log.debug({ full, ms: Math.round(ms), services: keys.size, wrote: write.size, removed: remove.size }, 'proxy rules synced');
  }

  private commitState(next: Map<string, ServicePortRules>, nextPorts: Map<string, ServicePort[]>, write: Map<string, string[]>, remove: Set<string>): void {
    this.rules = next;
    for (const [k, ports] of nextPorts) {
      if (ports.length) this.portsBySvc.set(k, ports);
      else this.portsBySvc.delete(k);
    }
    for (const [name, lines] of write) this.chains.set(name, lines.join('\n'));
    for (const name of remove) this.chains.delete(name);
    this.st.services = this.portsBySvc.size;
    this.st.servicePorts = next.size;
    this.st.chains = this.chains.size;
    this.metrics.servicePorts.set(next.size);
  }

  stats(): ProxyStats {
    return { ...this.st };
  }

  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.timer, this.retryTimer]) if (t) clearTimeout(t);
    if (this.fullTimer) clearInterval(this.fullTimer);
    await this.syncing;
    await this.conntrack.drain();
    if (opts.cleanup === false) return;
    for (const j of jumps(this.ctx)) await this.ipt.deleteJump(j);
    const { nat, filter } = await this.saveOurs();
    const drop = (table: string, chains: string[]) => (chains.length ? `*${table}\n${chains.map((c) => `:${c} - [0:0]`).join('\n')}\n${chains.map((c) => `-X ${c}`).join('\n')}\nCOMMIT\n` : '');
    const text = drop('nat', nat) + drop('filter', filter);
    if (text) {
      try {
        await this.ipt.restore(text);
      } catch (e) {
        this.log.warn({ err: (e as Error).message }, 'proxy: could not remove all chains');
      }
    }
    await this.restoreRouteLocalnet();
  }

  private async saveOurs(): Promise<{ nat: string[]; filter: string[] }> {
    const P = this.o.chainPrefix;
    const [nat, filter] = await Promise.all([this.ipt.save('nat'), this.ipt.save('filter')]);
    return { nat: chainsIn(nat).filter((c) => ownsChain(P, c)), filter: chainsIn(filter).filter((c) => ownsChain(P, c)) };
  }

  // route_localnet=1 lets packets from 127.0.0.1 be DNATed to pods (NodePorts on
  // localhost). It is one switch per netns shared by every proxy in it: the first
  // proxy that turns it on records the old value in /run; the last one to stop
  // (no other proxy's NODEPORTS chain left) puts it back.
  private stateFile(): string {
    return `${STATE_DIR}/route_localnet.${this.o.netns ?? 'root'}`;
  }

  private async enableRouteLocalnet(): Promise<void> {
    const v = await this.ipt.sysctlGet(ROUTE_LOCALNET);
    if (v === undefined || v === '1') return;
    if (!(await this.ipt.sysctlSet(ROUTE_LOCALNET, '1'))) {
      this.log.warn('cannot set route_localnet=1: NodePorts will not answer on 127.0.0.1');
      return;
    }
    this.changedLocalnet = true;
    try {
      mkdirSync(STATE_DIR, { recursive: true });
      if (!existsSync(this.stateFile())) writeFileSync(this.stateFile(), v);
    } catch {}
  }

  private async restoreRouteLocalnet(): Promise<void> {
    let original: string | undefined;
    try {
      original = readFileSync(this.stateFile(), 'utf8').trim();
    } catch {
      if (!this.changedLocalnet) return;
      original = '0';
    }
    const others = chainsIn(await this.ipt.save('nat')).filter((c) => c.endsWith('-NODEPORTS'));
    if (others.length) return; // another proxy still needs it; the last one restores
    await this.ipt.sysctlSet(ROUTE_LOCALNET, original || '0');
    try {
      rmSync(this.stateFile(), { force: true });
    } catch {}
  }
}

function sameDispatch(a: ServicePortRules, b: ServicePortRules): boolean {
  return eq(a.services, b.services) && eq(a.external, b.external) && eq(a.nodePorts, b.nodePorts) && eq(a.filter, b.filter);
}

function eq(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
