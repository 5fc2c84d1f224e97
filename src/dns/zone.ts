// The cluster zone: every name the cluster DNS answers for itself, kept as an
// index that Service and EndpointSlice events update one Service at a time
// (never rebuilt per query). It follows the Kubernetes DNS specification as
// CoreDNS's kubernetes plugin implements it:
//   <svc>.<ns>.svc.<domain>                A/AAAA  ClusterIPs; headless: ready endpoints;
//                                                  ExternalName: CNAME (chased inside the zone)
//   <ep>.<svc>.<ns>.svc.<domain>           A/AAAA  a headless endpoint (hostname, or its dashed IP)
//   _<port>._<proto>.<svc>.<ns>.svc.<domain>  SRV  named ports
//   <a-b-c-d>.<ns>.pod.<domain>            A/AAAA  any address ("pods insecure")
//   reverse names                          PTR     ClusterIPs and headless endpoints
// A name that exists without records of the asked type is NODATA (NOERROR with
// the SOA); one that does not exist is NXDOMAIN. `lookup` returns undefined for
// names that are not ours (they are forwarded).
import type { EndpointSlice, Endpoint } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { type Answer, type RR, RCODE, TYPE } from './message.js';
import { type Cidr, cidrContains, dashed, formatIP, parseCidr, parseIP, parseReverseName, undash } from './ip.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

interface PortEntry {
  name: string;
  /** '_tcp', '_udp', '_sctp' */
  proto: string;
  port: number;
}

interface EndpointEntry {
  ip: Uint8Array;
  /** hostname, or the dashed address */
  name: string;
  fqdn: string;
  ports: PortEntry[];
}

interface ServiceSpecEntry {
  ips4: Uint8Array[];
  ips6: Uint8Array[];
  headless: boolean;
  externalName?: string;
  ports: PortEntry[];
  publishNotReady: boolean;
}

interface SliceEntry {
  endpoints: { ip: Uint8Array; hostname?: string; ready: boolean }[];
  ports: PortEntry[];
}

interface ServiceRecord {
  ns: string;
  name: string;
  fqdn: string;
  spec?: ServiceSpecEntry;
  slices: Map<string, SliceEntry>;
  /** derived: endpoints DNS serves (headless only), and by name */
  endpoints: EndpointEntry[];
  byName: Map<string, EndpointEntry[]>;
  /** reverse entries this service registered: [ip text, name] */
  ptrs: [string, string][];
}

export interface ZoneOptions {
  domain?: string;
  ttl?: number;
  /** reverse lookups inside these ranges are answered here, NXDOMAIN when unknown */
  serviceCidrs?: string[];
}

const protoLabel = (p: string | undefined) => `_${(p ?? 'TCP').toLowerCase()}`;
const validName = (n: string) => n.length > 0 && n.length < 254 && n.split('.').every((l) => l.length > 0 && l.length < 64);

export class ClusterZone {
  readonly domain: string;
  readonly ttl: number;
  /** bumped on every change: answers cached under an older generation are stale */
  generation = 0;
  private serial = Math.floor(Date.now() / 1000) >>> 0;
  private readonly services = new Map<string, Map<string, ServiceRecord>>();
  /** Services per namespace: a namespace with none is, for DNS, one that does not exist */
  private readonly nsCount = new Map<string, number>();
  /** slice 'ns/name' → the service it was filed under */
  private readonly sliceOwner = new Map<string, string>();
  private readonly ptr = new Map<string, Map<string, number>>();
  private readonly serviceCidrs: Cidr[];
  private readonly soa: RR;
  private readonly soaReverse4: RR;
  private readonly soaReverse6: RR;

  constructor(o: ZoneOptions = {}) {
    this.domain = (o.domain ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
    this.ttl = o.ttl ?? 5;
    this.serviceCidrs = (o.serviceCidrs ?? ['10.43.0.0/16']).map(parseCidr).filter((c): c is Cidr => !!c);
    const soa = (name: string): RR => ({
      name,
      ttl: this.ttl,
      data: { type: TYPE.SOA, mname: `ns.dns.${this.domain}`, rname: `hostmaster.${this.domain}`, serial: this.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    });
    this.soa = soa(this.domain);
    this.soaReverse4 = soa('in-addr.arpa');
    this.soaReverse6 = soa('ip6.arpa');
  }

  private changed(): void {
    this.generation++;
    this.serial = (this.serial + 1) >>> 0;
    for (const s of [this.soa, this.soaReverse4, this.soaReverse6]) if (s.data.type === TYPE.SOA) s.data.serial = this.serial;
  }

  private record(ns: string, name: string, create: boolean): ServiceRecord | undefined {
    let byNs = this.services.get(ns);
    let r = byNs?.get(name);
    if (r || !create) return r;
    if (!byNs) this.services.set(ns, (byNs = new Map()));
    r = { ns, name, fqdn: `${name}.${ns}.svc.${this.domain}`, slices: new Map(), endpoints: [], byName: new Map(), ptrs: [] };
    byNs.set(name, r);
    return r;
  }

  private dropIfEmpty(r: ServiceRecord): void {
    if (r.spec || r.slices.size) return;
    const byNs = this.services.get(r.ns);
    byNs?.delete(r.name);
    if (byNs && !byNs.size) this.services.delete(r.ns);
  }

  setService(svc: Service & { metadata?: { name?: string; namespace?: string } }): void {
    const ns = svc.metadata?.namespace ?? 'default';
    const name = svc.metadata?.name;
    if (!name) return;
    const r = this.record(ns, name, true)!;
    const spec = svc.spec ?? {};
    const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
    const parsed = ips.filter((i) => i && i !== 'None').map(parseIP).filter((b): b is Uint8Array => !!b);
    const ext = spec.type === 'ExternalName' && spec.externalName ? spec.externalName.toLowerCase().replace(/\.$/, '') : undefined;
    if (!r.spec) this.nsCount.set(ns, (this.nsCount.get(ns) ?? 0) + 1);
    r.spec = {
      ips4: parsed.filter((b) => b.length === 4),
      ips6: parsed.filter((b) => b.length === 16),
      headless: spec.clusterIP === 'None' && spec.type !== 'ExternalName',
      externalName: ext && validName(ext) ? ext : undefined,
      ports: (spec.ports ?? []).map((p) => ({ name: (p.name ?? '').toLowerCase(), proto: protoLabel(p.protocol), port: p.port })),
      publishNotReady: !!spec.publishNotReadyAddresses,
    };
    this.derive(r);
  }

  deleteService(ns: string, name: string): void {
    const r = this.record(ns, name, false);
    if (!r?.spec) return;
    r.spec = undefined;
    const c = (this.nsCount.get(ns) ?? 1) - 1;
    if (c > 0) this.nsCount.set(ns, c);
    else this.nsCount.delete(ns);
    this.derive(r);
    this.dropIfEmpty(r);
  }

  setSlice(slice: EndpointSlice): void {
    const ns = slice.metadata?.namespace ?? 'default';
    const sliceName = slice.metadata?.name;
    if (!sliceName) return;
    const svcName = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    const key = `${ns}/${sliceName}`;
    const prev = this.sliceOwner.get(key);
    if (prev !== undefined && prev !== svcName) this.deleteSlice(ns, sliceName);
    if (!svcName) return;
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return; // FQDN slices carry no addresses to serve
    const r = this.record(ns, svcName, true)!;
    this.sliceOwner.set(key, svcName);
    r.slices.set(sliceName, {
      endpoints: (slice.endpoints ?? []).flatMap((e: Endpoint) =>
        e.addresses
          .map((a) => parseIP(a))
          .filter((ip): ip is Uint8Array => !!ip)
          // a missing condition means ready (EndpointConditions)
          .map((ip) => ({ ip, hostname: e.hostname?.toLowerCase(), ready: e.conditions?.ready !== false })),
      ),
      ports: (slice.ports ?? []).filter((p) => p.port !== undefined).map((p) => ({ name: (p.name ?? '').toLowerCase(), proto: protoLabel(p.protocol), port: p.port! })),
    });
    this.derive(r);
  }

  deleteSlice(ns: string, sliceName: string): void {
    const key = `${ns}/${sliceName}`;
    const svcName = this.sliceOwner.get(key);
    if (svcName === undefined) return;
    this.sliceOwner.delete(key);
    const r = this.record(ns, svcName, false);
    if (!r) return;
    r.slices.delete(sliceName);
    this.derive(r);
    this.dropIfEmpty(r);
  }

  /** Recompute one service's endpoints and reverse entries. */
  private derive(r: ServiceRecord): void {
    r.endpoints = [];
    r.byName = new Map();
    if (r.spec?.headless) {
      const seen = new Map<string, EndpointEntry>();
      for (const s of r.slices.values()) {
        for (const e of s.endpoints) {
          if (!e.ready && !r.spec.publishNotReady) continue;
          const text = formatIP(e.ip);
          const known = seen.get(text);
          if (known) {
            for (const p of s.ports) if (!known.ports.some((k) => k.name === p.name && k.proto === p.proto)) known.ports.push(p);
            continue;
          }
          const name = e.hostname && validName(e.hostname) && !e.hostname.includes('.') ? e.hostname : dashed(e.ip);
          const ep: EndpointEntry = { ip: e.ip, name, fqdn: `${name}.${r.fqdn}`, ports: [...s.ports] };
          seen.set(text, ep);
          r.endpoints.push(ep);
          const list = r.byName.get(name);
          if (list) list.push(ep);
          else r.byName.set(name, [ep]);
        }
      }
    }
    // reverse entries: remove the old, add the new
    for (const [ip, name] of r.ptrs) {
      const m = this.ptr.get(ip);
      if (!m) continue;
      const c = (m.get(name) ?? 1) - 1;
      if (c > 0) m.set(name, c);
      else m.delete(name);
      if (!m.size) this.ptr.delete(ip);
    }
    r.ptrs = [];
    if (r.spec) {
      for (const ip of [...r.spec.ips4, ...r.spec.ips6]) r.ptrs.push([formatIP(ip), r.fqdn]);
      for (const ep of r.endpoints) r.ptrs.push([formatIP(ep.ip), ep.fqdn]);
    }
    for (const [ip, name] of r.ptrs) {
      let m = this.ptr.get(ip);
      if (!m) this.ptr.set(ip, (m = new Map()));
      m.set(name, (m.get(name) ?? 0) + 1);
    }
    this.changed();
  }

  /** Is `name` (lowercase, no trailing dot) in the cluster domain or an in-cluster reverse name? */
  isOurs(name: string): boolean {
    return name === this.domain || name.endsWith(`.${this.domain}`);
  }

  /**
   * The answer for a question, or undefined when the name is not ours.
   * `owner` is the name records are written under (undefined = the question).
   */
  lookup(qname: string, qtype: number, owner?: string, depth = 0): Answer | undefined {
    const d = this.domain;
    if (qname === d) return this.apex(qtype, owner);
    if (!qname.endsWith(`.${d}`)) return this.reverse(qname, qtype, owner);
    const labels = qname.slice(0, qname.length - d.length - 1).split('.');
    const n = labels.length;
    const kind = labels[n - 1];
    if (kind === 'svc') {
      if (n === 1) return this.nodata();
      const ns = labels[n - 2];
      if (n === 2) return this.nsCount.has(ns) ? this.nodata() : this.nx();
      const r = this.services.get(ns)?.get(labels[n - 3]);
      if (!r?.spec) return this.nx();
      if (n === 3) return this.service(r, qtype, owner, depth);
      if (n === 4) {
        const x = labels[0];
        if (x.startsWith('_')) return this.portsOf(r).some((p) => p.proto === x && p.name) ? this.nodata() : this.nx();
        const eps = r.byName.get(x);
        return eps ? this.addresses(eps.map((e) => e.ip), qtype, owner) : this.nx();
      }
      if (n === 5 && labels[0].startsWith('_') && labels[1].startsWith('_')) return this.srv(r, labels[0].slice(1), labels[1], qtype, owner);
      return this.nx();
    }
    if (kind === 'pod') {
      if (n <= 2) return this.nodata();
      if (n > 3) return this.nx();
      const ip = undash(labels[0]);
      return ip ? this.addresses([ip], qtype, owner) : this.nx();
    }
    if (n === 1 && kind === 'dns-version') {
      // the schema version of the Kubernetes DNS specification we follow
      return qtype === TYPE.TXT || qtype === TYPE.ANY ? this.ok([{ name: owner, ttl: this.ttl, data: { type: TYPE.TXT, text: ['1.1.0'] } }]) : this.nodata();
    }
    if (n === 2 && labels[0] === 'ns' && kind === 'dns') {
      const dns = this.services.get('kube-system')?.get('kube-dns')?.spec;
      if (dns) return this.addresses([...dns.ips4, ...dns.ips6], qtype, owner);
    }
    if (n === 1 && kind === 'dns') return this.nodata();
    return this.nx();
  }

  private apex(qtype: number, owner?: string): Answer {
    if (qtype === TYPE.SOA || qtype === TYPE.ANY) return this.ok([{ ...this.soa, name: owner }]);
    if (qtype === TYPE.NS) {
      const ns = `ns.dns.${this.domain}`;
      const dns = this.services.get('kube-system')?.get('kube-dns')?.spec;
      const glue = dns ? [...dns.ips4, ...dns.ips6].map((ip) => this.addressRR(ns, ip)) : [];
      return this.ok([{ name: owner, ttl: this.ttl, data: { type: TYPE.NS, target: ns } }], glue);
    }
    return this.nodata();
  }

  private reverse(qname: string, qtype: number, owner?: string): Answer | undefined {
    const ip = parseReverseName(qname);
    if (!ip) return undefined;
    const names = this.ptr.get(formatIP(ip));
    const soa = ip.length === 4 ? this.soaReverse4 : this.soaReverse6;
    if (names) {
      if (qtype !== TYPE.PTR && qtype !== TYPE.ANY) return { rcode: RCODE.NOERROR, authoritative: true, answer: [], authority: [soa], additional: [] };
      return this.ok([...names.keys()].map((target) => ({ name: owner, ttl: this.ttl, data: { type: TYPE.PTR, target } })));
    }
    if (this.serviceCidrs.some((c) => cidrContains(c, ip))) return { rcode: RCODE.NXDOMAIN, authoritative: true, answer: [], authority: [soa], additional: [] };
    return undefined;
  }

  private service(r: ServiceRecord, qtype: number, owner: string | undefined, depth: number): Answer {
    const s = r.spec!;
    if (s.externalName) {
      const cname: RR = { name: owner, ttl: this.ttl, data: { type: TYPE.CNAME, target: s.externalName } };
      if (qtype === TYPE.CNAME || depth >= 8 || !this.isOurs(s.externalName)) return this.ok([cname]);
      // chase a target inside the zone; the answer's rcode is the chain end's (RFC 6604)
      const next = this.lookup(s.externalName, qtype, s.externalName, depth + 1);
      if (!next) return this.ok([cname]);
      return { ...next, answer: [cname, ...next.answer] };
    }
    if (qtype === TYPE.SRV) {
      const rrs: RR[] = [];
      const extra: RR[] = [];
      if (!s.headless) {
        for (const p of s.ports) rrs.push(this.srvRR(owner, p.port, r.fqdn, s.ports.length));
        if (rrs.length) for (const ip of [...s.ips4, ...s.ips6]) extra.push(this.addressRR(r.fqdn, ip));
      } else {
        const count = r.endpoints.reduce((n, e) => n + e.ports.length, 0);
        for (const e of r.endpoints) {
          for (const p of e.ports) rrs.push(this.srvRR(owner, p.port, e.fqdn, count));
          if (e.ports.length) extra.push(this.addressRR(e.fqdn, e.ip));
        }
      }
      return rrs.length ? this.ok(rrs, extra) : this.nodata();
    }
    return this.addresses(s.headless ? r.endpoints.map((e) => e.ip) : [...s.ips4, ...s.ips6], qtype, owner);
  }

  private portsOf(r: ServiceRecord): PortEntry[] {
    if (!r.spec?.headless) return r.spec?.ports ?? [];
    return [...r.spec.ports, ...r.endpoints.flatMap((e) => e.ports)];
  }

  private srv(r: ServiceRecord, port: string, proto: string, qtype: number, owner?: string): Answer {
    const s = r.spec!;
    if (s.externalName) return this.nx();
    const match = (p: PortEntry) => p.name === port && p.proto === proto;
    if (!this.portsOf(r).some(match)) return this.nx();
    if (qtype !== TYPE.SRV && qtype !== TYPE.ANY) return this.nodata();
    const rrs: RR[] = [];
    const extra: RR[] = [];
    if (!s.headless) {
      const p = s.ports.find(match)!;
      rrs.push(this.srvRR(owner, p.port, r.fqdn, 1));
      for (const ip of [...s.ips4, ...s.ips6]) extra.push(this.addressRR(r.fqdn, ip));
    } else {
      const eps = r.endpoints.filter((e) => e.ports.some(match));
      for (const e of eps) {
        rrs.push(this.srvRR(owner, e.ports.find(match)!.port, e.fqdn, eps.length));
        extra.push(this.addressRR(e.fqdn, e.ip));
      }
    }
    return rrs.length ? this.ok(rrs, extra) : this.nodata();
  }

  private srvRR(owner: string | undefined, port: number, target: string, count: number): RR {
    // equal shares of 100, as CoreDNS weighs records of one name
    return { name: owner, ttl: this.ttl, data: { type: TYPE.SRV, priority: 0, weight: Math.max(1, Math.floor(100 / count)), port, target } };
  }

  private addressRR(name: string | undefined, ip: Uint8Array): RR {
    return { name, ttl: this.ttl, data: { type: ip.length === 4 ? TYPE.A : TYPE.AAAA, ip } };
  }

  /** A/AAAA (or ANY) from a set of addresses of either family; other types are NODATA. */
  private addresses(ips: Uint8Array[], qtype: number, owner?: string): Answer {
    const want = qtype === TYPE.A ? 4 : qtype === TYPE.AAAA ? 16 : qtype === TYPE.ANY ? 0 : -1;
    if (want < 0) return this.nodata();
    const rrs = ips.filter((ip) => want === 0 || ip.length === want).map((ip) => this.addressRR(owner, ip));
    return rrs.length ? this.ok(rrs) : this.nodata();
  }

  private ok(answer: RR[], additional: RR[] = []): Answer {
    return { rcode: RCODE.NOERROR, authoritative: true, answer, authority: [], additional };
  }
  private nodata(): Answer {
    return { rcode: RCODE.NOERROR, authoritative: true, answer: [], authority: [this.soa], additional: [] };
  }
  private nx(): Answer {
    return { rcode: RCODE.NXDOMAIN, authoritative: true, answer: [], authority: [this.soa], additional: [] };
  }

  /** Sizes, for logs and tests. */
  stats(): { services: number; reverse: number } {
    let services = 0;
    for (const m of this.services.values()) for (const r of m.values()) if (r.spec) services++;
    return { services, reverse: this.ptr.size };
  }
}
