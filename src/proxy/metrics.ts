// kube-proxy's sync metrics, registered in the registry the caller gives (the
// kubelet's /metrics in the node agent). Names follow upstream.
import { Gauge, Histogram, Registry } from 'prom-client';

export class ProxyMetrics {
  readonly syncDuration: Histogram<'mode'>;
  readonly lastSync: Gauge;
  readonly rules: Gauge<'table'>;
  readonly servicePorts: Gauge;

  constructor(readonly registry: Registry = new Registry()) {
    const existing = registry.getSingleMetric('kubeproxy_sync_proxy_rules_duration_seconds');
    if (existing) {
      // a second proxy in the same process and registry shares the series
      this.syncDuration = existing as Histogram<'mode'>;
      this.lastSync = registry.getSingleMetric('kubeproxy_sync_proxy_rules_last_timestamp_seconds') as Gauge;
      this.rules = registry.getSingleMetric('kubeproxy_sync_proxy_rules_iptables_total') as Gauge<'table'>;
      this.servicePorts = registry.getSingleMetric('kubeproxy_sync_proxy_rules_service_ports_total') as Gauge;
      return;
    }
    this.syncDuration = new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds (mode: full or partial)',
      labelNames: ['mode'],
      buckets: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384],
      registers: [registry],
    });
    this.lastSync = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', registers: [registry] });
    this.rules = new Gauge({ name: 'kubeproxy_sync_proxy_rules_iptables_total', help: 'Number of iptables rules written in the last full sync', labelNames: ['table'], registers: [registry] });
    this.servicePorts = new Gauge({ name: 'kubeproxy_sync_proxy_rules_service_ports_total', help: 'Service ports programmed', registers: [registry] });
  }
}
