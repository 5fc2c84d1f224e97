// Stale UDP conntrack entries. UDP has no connection to close: a client that
// keeps sending from the same port keeps its old NAT mapping, so traffic would
// go on to an endpoint that is gone, or (after a Service had no endpoints) never
// get DNATed. After each sync we delete the entries that would mislead (kube-proxy
// does the same). The `conntrack` tool runs asynchronously, one call at a time;
// if it is missing we say so once and carry on.
import type { Logger } from 'pino';
import type { Iptables } from './iptables.js';

export interface UdpChange {
  /** every address the service port answers on (ClusterIPs, externalIPs, LB IPs) */
  vips: string[];
  port: number;
  nodePort: number;
  /** endpoint IPs that no longer receive traffic */
  removed: string[];
  /** the port had no endpoints before and has some now */
  gotEndpoints: boolean;
}

/** conntrack argument lists that clear what a change leaves stale. Pure, for tests. */
export function conntrackDeletes(c: UdpChange): string[][] {
  const out: string[][] = [];
  for (const ep of c.removed) {
    for (const vip of c.vips) out.push(['-D', '-p', 'udp', '--orig-dst', vip, '--dst-nat', ep]);
    if (c.nodePort) out.push(['-D', '-p', 'udp', '--orig-port-dst', String(c.nodePort), '--dst-nat', ep]);
  }
  if (c.gotEndpoints) {
    for (const vip of c.vips) out.push(['-D', '-p', 'udp', '--orig-dst', vip, '--orig-port-dst', String(c.port)]);
    if (c.nodePort) out.push(['-D', '-p', 'udp', '--orig-port-dst', String(c.nodePort)]);
  }
  return out;
}

export class ConntrackCleaner {
  private queue: Promise<void> = Promise.resolve();
  private missing = false;

  constructor(private readonly ipt: Iptables, private readonly log: Logger) {}

  clear(changes: UdpChange[]): Promise<void> {
    const calls = changes.flatMap(conntrackDeletes);
    if (!calls.length || this.missing) return this.queue;
    this.queue = this.queue.then(async () => {
      for (const args of calls) {
        if (this.missing) return;
        const r = await this.ipt.exec('conntrack', args, undefined, 10_000);
        // exit 1 with "0 flow entries have been deleted" is the normal "nothing to do"
        if (r.code === 127 || (r.code !== 0 && r.code !== 1 && /not found|No such file/i.test(r.stderr))) {
          this.missing = true;
          this.log.warn('conntrack tool not found: stale UDP conntrack entries are not cleared (apt-get install conntrack)');
        }
      }
    });
    return this.queue;
  }

  /** resolves when queued deletions are done */
  drain(): Promise<void> {
    return this.queue;
  }
}
