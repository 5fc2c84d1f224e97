// Prometheus metrics of the ingress data plane: requests by host/path/status,
// a latency histogram, upstream errors. Counting is plain numbers on a per-route
// record (cached on the route, found again by host+path when the table is
// rebuilt), so a request costs a few increments and no label hashing; the
// prom-client text is produced at scrape time. With data-plane worker
// processes each worker counts its own and the scrape sums their snapshots.
import type { Registry } from 'prom-client';
import type { Route } from './routeTable.js';

export const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One host+path's counts (plain data: it crosses the worker IPC as is). */
export interface RouteCounts {
  host: string;
  path: string;
  /** status → requests */
  status: Record<number, number>;
  /** per bucket of durationBuckets (not cumulative), then +Inf */
  buckets: number[];
  sum: number;
  count: number;
  /** reason → upstream errors */
  errors: Record<string, number>;
}

export type MetricsSnapshot = RouteCounts[];

type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };

export class IngressMetrics {
  private readonly byKey = new Map<string, RouteCounts>();

  /**
   * @param registry where ingress_* are registered (omitted in a worker process)
   * @param others more snapshots to add at scrape time (the workers')
   */
  constructor(registry?: Registry, private readonly others?: () => Promise<MetricsSnapshot[]>) {
    if (!registry) return;
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: (all: MetricsSnapshot[]) => Sample[]) => ({
      name,
      help,
      type,
      aggregator: 'sum' as const,
      get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values(await this.all()) }),
      reset: () => this.byKey.clear(),
    });
    const reg = (m: ReturnType<typeof metric>) => registry.registerMetric(m as never);
    reg(
      metric('ingress_requests_total', 'Requests through the ingress by host, path and status', 'counter', (all) => {
        const out: Sample[] = [];
        for (const c of merge(all)) for (const s in c.status) out.push({ labels: { host: c.host, path: c.path, status: s }, value: c.status[s] });
        return out;
      }),
    );
    reg(
      metric('ingress_request_duration_seconds', 'Time from request to the end of the response, by host and path', 'histogram', (all) => {
        const out: Sample[] = [];
        for (const c of merge(all)) {
          if (!c.count) continue;
          let acc = 0;
          for (let i = 0; i <= durationBuckets.length; i++) {
            acc += c.buckets[i];
            out.push({ metricName: 'ingress_request_duration_seconds_bucket', labels: { le: i < durationBuckets.length ? durationBuckets[i] : '+Inf', host: c.host, path: c.path }, value: acc });
          }
          out.push({ metricName: 'ingress_request_duration_seconds_sum', labels: { host: c.host, path: c.path }, value: c.sum });
          out.push({ metricName: 'ingress_request_duration_seconds_count', labels: { host: c.host, path: c.path }, value: c.count });
        }
        return out;
      }),
    );
    reg(
      metric('ingress_upstream_errors_total', 'Upstream failures (connect, timeout, no endpoints, reset)', 'counter', (all) => {
        const out: Sample[] = [];
        for (const c of merge(all)) for (const r in c.errors) out.push({ labels: { host: c.host, path: c.path, reason: r }, value: c.errors[r] });
        return out;
      }),
    );
  }

  private async all(): Promise<MetricsSnapshot[]> {
    const mine = this.snapshot();
    if (!this.others) return [mine];
    try {
      return [mine, ...(await this.others())];
    } catch {
      return [mine];
    }
  }

  private counts(route: Route | undefined): RouteCounts {
    const cached = route?.cache?.metrics as RouteCounts | undefined;
    if (cached) return cached;
    const host = route?.host || '*';
    const path = route?.path ?? '';
    const key = `${host}\0${path}`;
    let c = this.byKey.get(key);
    if (!c) this.byKey.set(key, (c = { host, path, status: {}, buckets: new Array(durationBuckets.length + 1).fill(0), sum: 0, count: 0, errors: {} }));
    if (route) (route.cache ??= {}).metrics = c;
    return c;
  }

  observe(route: Route | undefined, status: number, seconds: number): void {
    const c = this.counts(route);
    c.status[status] = (c.status[status] ?? 0) + 1;
    let i = 0;
    while (i < durationBuckets.length && seconds > durationBuckets[i]) i++;
    c.buckets[i]++;
    c.sum += seconds;
    c.count++;
  }

  upstreamError(route: Route | undefined, reason: string): void {
    const c = this.counts(route);
    c.errors[reason] = (c.errors[reason] ?? 0) + 1;
  }

  /** This process's counts (the records themselves; the IPC copies them). */
  snapshot(): MetricsSnapshot {
    return [...this.byKey.values()];
  }
}

/** Sum snapshots by host+path. */
export function merge(all: MetricsSnapshot[]): RouteCounts[] {
  if (all.length === 1) return all[0];
  const out = new Map<string, RouteCounts>();
  for (const snap of all)
    for (const c of snap) {
      const key = `${c.host}\0${c.path}`;
      const m = out.get(key);
      if (!m) {
        out.set(key, { host: c.host, path: c.path, status: { ...c.status }, buckets: [...c.buckets], sum: c.sum, count: c.count, errors: { ...c.errors } });
        continue;
      }
      for (const s in c.status) m.status[s] = (m.status[s] ?? 0) + c.status[s];
      for (const r in c.errors) m.errors[r] = (m.errors[r] ?? 0) + c.errors[r];
      for (let i = 0; i < c.buckets.length; i++) m.buckets[i] += c.buckets[i];
      m.sum += c.sum;
      m.count += c.count;
    }
  return [...out.values()];
}
