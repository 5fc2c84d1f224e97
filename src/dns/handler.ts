// One query in, one response out: read the query, answer cluster names from
// the zone (through a cache of encoded answers that any zone change
// invalidates), forward other names, and fit the response to the transport
// (UDP size limit → TC; the client retries over TCP). Pure of sockets, so
// unit tests drive it with bytes.
import { type Forwarder } from './forwarder.js';
import { type DnsMetrics } from './metrics.js';
import { CLASS_IN, RCODE, TYPE, encodeAnswer, encodeError, finish, isQuery, optRecord, parseQuery, udpLimit } from './message.js';
import type { ClusterZone } from './zone.js';

export type Transport = 'udp' | 'tcp';

/** Encoded answers kept at most; past it the cache starts over (names asked repeatedly come back at once). */
const CACHE_MAX = 20_000;
const TCP_LIMIT = 65535;

export class QueryHandler {
  private cache = new Map<string, Buffer>();
  private cacheGeneration = -1;

  constructor(
    private readonly zone: ClusterZone,
    private readonly forwarder?: Forwarder,
    private readonly metrics?: DnsMetrics,
  ) {}

  /** Handle one message; `reply` is called once (maybe later, for forwarded names) or never (dropped input). */
  handle(packet: Buffer, transport: Transport, reply: (resp: Buffer) => void): void {
    const m = this.metrics;
    const t0 = m ? performance.now() : 0;
    const send = (resp: Buffer) => {
      if (m) {
        (transport === 'udp' ? m.udpDuration : m.tcpDuration).observe((performance.now() - t0) / 1000);
        m.response(resp.length >= 4 ? resp[3] & 15 : RCODE.SERVFAIL);
      }
      reply(resp);
    };
    if (m) (transport === 'udp' ? m.udp : m.tcp).inc();
    const q = parseQuery(packet);
    if (!isQuery(q)) {
      if (q.drop) return;
      if (q.rcode === RCODE.BADVERS) {
        // extended rcode 16 = 1 in the OPT's upper bits, 0 in the header
        const head = encodeError(packet, { ...q, rcode: 0 });
        const out = Buffer.concat([head, optRecord(1)]);
        out.writeUInt16BE(1, 10);
        return send(out);
      }
      const err = encodeError(packet, q);
      if (!q.edns) return send(err);
      const out = Buffer.concat([err, optRecord()]);
      out.writeUInt16BE(1, 10);
      return send(out);
    }
    const limit = transport === 'tcp' ? TCP_LIMIT : udpLimit(q.edns);
    const inZone = this.zone.isOurs(q.qname);
    if (q.qclass !== CLASS_IN && (inZone || q.qclass !== 255)) {
      return send(finish(encodeError(packet, { ...q, rcode: RCODE.REFUSED }), packet, q, limit));
    }
    if (q.qtype === TYPE.OPT || q.qtype === 251 || q.qtype === 252) {
      // OPT is no question; zone transfers (IXFR, AXFR) are not offered
      return send(finish(encodeError(packet, { ...q, rcode: q.qtype === TYPE.OPT ? RCODE.FORMERR : RCODE.REFUSED }), packet, q, limit));
    }
    if (this.cacheGeneration !== this.zone.generation) {
      this.cache = new Map();
      this.cacheGeneration = this.zone.generation;
    }
    // '|' can be neither a digit nor a label length byte (≤ 63): the key is unambiguous
    const key = `${q.qtype}|${q.wireKey}`;
    const cached = this.cache.get(key);
    if (cached) {
      m?.hit();
      return send(finish(cached, packet, q, limit));
    }
    const answer = this.zone.lookup(q.qname, q.qtype);
    if (answer) {
      const resp = encodeAnswer(packet, q, answer);
      if (this.cache.size >= CACHE_MAX) this.cache = new Map();
      this.cache.set(key, resp);
      return send(finish(resp, packet, q, limit));
    }
    if (!this.forwarder?.upstreams.length) {
      // no upstreams (an isolated cluster, and every test): nothing exists outside the
      // cluster domain. NXDOMAIN, not REFUSED: resolvers (busybox nslookup, musl) stop at
      // REFUSED but go on through the search path after NXDOMAIN, as they do when a real
      // upstream denies `kubernetes.default.`
      return send(finish(encodeError(packet, { ...q, rcode: RCODE.NXDOMAIN }), packet, q, limit));
    }
    this.forwarder.forward(packet, transport === 'tcp', (resp) => {
      if (!resp) return send(finish(encodeError(packet, { ...q, rcode: RCODE.SERVFAIL }), packet, q, limit));
      if (resp.length <= limit) return send(resp);
      // larger than the client takes over UDP: header and question, TC set
      const tc = Buffer.from(resp.subarray(0, q.questionEnd));
      tc.fill(0, 6, 12);
      tc[2] |= 0x02;
      send(tc);
    });
  }
}
