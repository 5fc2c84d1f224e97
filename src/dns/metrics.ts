// Prometheus metrics of the cluster DNS server (named after CoreDNS's
// coredns_dns_* families, under k8ts_dns_*). Label children are made once so
// the hot path only increments.
import { Counter, Histogram, type Registry } from 'prom-client';
import { RCODE, rcodeName } from './message.js';

export class DnsMetrics {
  private readonly requests: Counter<'proto'>;
  private readonly responses: Counter<'rcode'>;
  private readonly cacheHits: Counter;
  private readonly duration: Histogram<'proto'>;
  private readonly byRcode = new Map<number, { inc(): void }>();
  readonly udp: { inc(): void };
  readonly tcp: { inc(): void };
  readonly udpDuration: { observe(v: number): void };
  readonly tcpDuration: { observe(v: number): void };

  constructor(registry: Registry) {
    // a DNS server started again on the same registry (an agent restarted in-process) reuses the families
    const reuse = <M>(name: string, make: () => M): M => (registry.getSingleMetric(name) as M | undefined) ?? make();
    this.requests = reuse('k8ts_dns_requests_total', () => new Counter({ name: 'k8ts_dns_requests_total', help: 'DNS queries received, by transport', labelNames: ['proto'], registers: [registry] }));
    this.responses = reuse('k8ts_dns_responses_total', () => new Counter({ name: 'k8ts_dns_responses_total', help: 'DNS responses sent, by rcode', labelNames: ['rcode'], registers: [registry] }));
    this.cacheHits = reuse('k8ts_dns_cache_hits_total', () => new Counter({ name: 'k8ts_dns_cache_hits_total', help: 'Queries answered from the encoded-answer cache', registers: [registry] }));
    this.duration = reuse('k8ts_dns_request_duration_seconds', () => new Histogram({
      name: 'k8ts_dns_request_duration_seconds',
      help: 'Time from reading a query to sending its response (forwarding included)',
      labelNames: ['proto'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2],
      registers: [registry],
    }));
    this.udp = this.requests.labels('udp');
    this.tcp = this.requests.labels('tcp');
    this.udpDuration = this.duration.labels('udp');
    this.tcpDuration = this.duration.labels('tcp');
    for (const rc of Object.values(RCODE)) this.byRcode.set(rc, this.responses.labels(rcodeName(rc)));
  }

  response(rcode: number): void {
    let c = this.byRcode.get(rcode);
    if (!c) this.byRcode.set(rcode, (c = this.responses.labels(rcodeName(rcode))));
    c.inc();
  }

  hit(): void {
    this.cacheHits.inc();
  }
}
