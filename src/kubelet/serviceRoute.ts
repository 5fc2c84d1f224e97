// The service CIDR's safety route: Service VIPs exist only as proxy rules, so a
// packet to a VIP without a rule must never leave the machine. The route sends
// the whole service CIDR to a "sink": a bridge with no ports and ARP off, which
// drops everything it transmits. Unlike an `unreachable` route, this lets
// packets reach the filter table's FORWARD/OUTPUT hooks first, where the proxy
// REJECTs connections to Services without endpoints (connection refused at
// once, instead of EHOSTUNREACH and rate-limited ICMP that looks like a hang).
// Every agent adds its own route (own sink, own metric): agents that share a
// netns (tests) keep the protection when one of them stops.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

const run = promisify(execFile);
const ip = (args: string[]) => run('ip', args, { encoding: 'utf8' });

/** The sink device's name for a node (≤ 15 characters). */
export function serviceSinkName(nodeName: string, bridge: string): string {
  return 'ktv' + createHash('sha256').update(`${nodeName}/${bridge}`).digest('hex').slice(0, 8);
}

export interface ServiceRoute {
  sink: string;
  metric: number;
  /** removes the sink (and with it the route) */
  remove(): Promise<void>;
}

/** Adds `CIDR dev <sink> metric M`; undefined (logged) when the machine does not allow it. */
export async function ensureServiceRoute(cidr: string, sink: string, log: Logger): Promise<ServiceRoute | undefined> {
  try {
    const exists = await ip(['link', 'show', 'dev', sink]).then(() => true, () => false);
    if (!exists) await ip(['link', 'add', 'name', sink, 'type', 'bridge']);
    await ip(['link', 'set', 'dev', sink, 'arp', 'off', 'up']);
    const have = (await ip(['-4', 'route', 'show', 'exact', cidr, 'dev', sink])).stdout;
    const m = /metric (\d+)/.exec(have);
    if (m) return handle(sink, Number(m[1]));
    // a metric of our own: several agents in one netns each keep a route
    const base = 100 + (parseInt(sink.slice(3, 7), 16) % 4000);
    for (let i = 0; i < 20; i++) {
      const metric = base + i;
      try {
        await ip(['route', 'add', cidr, 'dev', sink, 'metric', String(metric)]);
        return handle(sink, metric);
      } catch (e) {
        if (!/exists/i.test((e as { stderr?: string }).stderr ?? '')) throw e;
      }
    }
    throw new Error(`no free route metric for ${cidr}`);
  } catch (e) {
    log.warn({ cidr, err: (e as Error).message }, 'cannot add the safety route for the service CIDR');
    await ip(['link', 'del', 'dev', sink]).catch(() => undefined);
    return undefined;
  }
}

function handle(sink: string, metric: number): ServiceRoute {
  return {
    sink,
    metric,
    remove: () => ip(['link', 'del', 'dev', sink]).then(() => undefined, () => undefined),
  };
}
