// The cluster DNS server (CoreDNS's place in upstream Kubernetes): a zone kept
// current from the Service and EndpointSlice informers, answered over UDP and
// TCP on each listen address, other names forwarded to upstream resolvers.
// The node agent runs one per node, behind the kube-dns Service.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { KubeObject } from '../api/kind.js';
import type { Informer } from '../client/informer.js';
import { Forwarder, parseUpstream, type Upstream } from './forwarder.js';
import { QueryHandler } from './handler.js';
import { DnsMetrics } from './metrics.js';
import { ClusterZone } from './zone.js';

export { hostUpstreams } from './resolvConf.js';

export interface ClusterDnsOptions {
  /** shared informers; the caller starts them (records appear as they sync) */
  services: Informer<Service & KubeObject>;
  endpointSlices: Informer<EndpointSlice & KubeObject>;
  /** UDP and TCP on each; port 0 = pick one (the same for both) */
  listen: { host: string; port: number }[];
  /** cluster.local */
  domain?: string;
  /** resolvers for names outside the cluster domain ("host:port" or "host"); [] = none (tests) */
  upstreams?: string[];
  /** 5 */
  ttl?: number;
  log: Logger;
  /** prom-client registry: queries by transport, responses by rcode, latency */
  metrics?: Registry;
  /** reverse names in these ranges are answered here (NXDOMAIN when unknown); default 10.43.0.0/16 */
  serviceCidrs?: string[];
  /** idle TCP connections are closed after this long; 10 s */
  tcpIdleMs?: number;
}

export interface ClusterDns {
  addresses: { host: string; port: number }[];
  /** the zone, for tests and diagnostics */
  zone: ClusterZone;
  stop(): Promise<void>;
}

const TCP_MAX_CONNECTIONS = 1024;

export async function startClusterDns(o: ClusterDnsOptions): Promise<ClusterDns> {
  const log = o.log;
  const zone = new ClusterZone({ domain: o.domain, ttl: o.ttl, serviceCidrs: o.serviceCidrs });
  const upstreams = (o.upstreams ?? []).map((u) => {
    const p = parseUpstream(u);
    if (!p) throw new Error(`dns: upstream "${u}" is not host, host:port or [ipv6]:port`);
    return p;
  });
  const forwarder = upstreams.length ? new Forwarder(upstreams) : undefined;
  const handler = new QueryHandler(zone, forwarder, o.metrics ? new DnsMetrics(o.metrics) : undefined);

  let stopped = false;
  const key = (obj: KubeObject) => [obj.metadata?.namespace ?? 'default', obj.metadata?.name ?? ''] as const;
  o.services.addEventHandler({
    onAdd: (s) => !stopped && zone.setService(s),
    onUpdate: (_, s) => !stopped && zone.setService(s),
    onDelete: (s) => !stopped && zone.deleteService(...key(s)),
  });
  o.endpointSlices.addEventHandler({
    onAdd: (s) => !stopped && zone.setSlice(s),
    onUpdate: (_, s) => !stopped && zone.setSlice(s),
    onDelete: (s) => !stopped && zone.deleteSlice(...key(s)),
  });

  const udps: dgram.Socket[] = [];
  const tcps: net.Server[] = [];
  const conns = new Set<net.Socket>();
  const addresses: { host: string; port: number }[] = [];
  const idleMs = o.tcpIdleMs ?? 10_000;

  const serveTcp = (c: net.Socket) => {
    if (conns.size >= TCP_MAX_CONNECTIONS) return void c.destroy();
    conns.add(c);
    c.setNoDelay(true);
    c.setTimeout(idleMs, () => c.destroy());
    c.on('close', () => conns.delete(c));
    c.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    c.on('data', (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      // several queries per connection, possibly pipelined, answered as they come
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        handler.handle(msg, 'tcp', (resp) => {
          if (c.destroyed) return;
          const out = Buffer.allocUnsafe(2 + resp.length);
          out.writeUInt16BE(resp.length, 0);
          resp.copy(out, 2);
          c.write(out);
        });
      }
    });
  };

  const bindOne = async (host: string, port: number): Promise<void> => {
    const v6 = net.isIPv6(host);
    // replies go to the sender's address, always an IP: skip dns.lookup's deferral per send (~10% of a query's cost)
    const lookup = (addr: string, _o: unknown, cb: (err: Error | null, address: string, family: number) => void) => cb(null, addr, v6 ? 6 : 4);
    const udp = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', lookup: lookup as never });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const got = udp.address().port;
    const tcp = net.createServer(serveTcp);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port: got, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    udp.on('error', (e) => log.warn({ err: e }, 'dns: UDP socket error'));
    udp.on('message', (msg, rinfo) => handler.handle(msg, 'udp', (resp) => udp.send(resp, rinfo.port, rinfo.address)));
    udps.push(udp);
    tcps.push(tcp);
    addresses.push({ host, port: got });
  };

  try {
    for (const l of o.listen) {
      // port 0: the UDP port picked may be taken in TCP; try a few
      for (let attempt = 0; ; attempt++) {
        try {
          await bindOne(l.host, l.port);
          break;
        } catch (e) {
          if (l.port !== 0 || attempt >= 5) throw e;
        }
      }
    }
  } catch (e) {
    stopped = true;
    for (const u of udps) u.close();
    for (const t of tcps) t.close();
    forwarder?.close();
    throw e;
  }
  log.info({ addresses, domain: zone.domain, upstreams: upstreams.map((u: Upstream) => `${u.host}:${u.port}`) }, 'cluster DNS serving');

  return {
    addresses,
    zone,
    async stop() {
      if (stopped) return;
      stopped = true;
      forwarder?.close();
      for (const c of conns) c.destroy();
      await Promise.all([
        ...udps.map((u) => new Promise<void>((r) => u.close(() => r()))),
        ...tcps.map((t) => new Promise<void>((r) => t.close(() => r()))),
      ]);
    },
  };
}
