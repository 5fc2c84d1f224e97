// What every cluster has from its first second: the system namespaces, the
// `kubernetes` Service at the first service IP and its endpoints (the apiserver),
// and the selector-less `kube-system/kube-dns` Service at the cluster DNS IP
// (service CIDR base + 10), whose endpoints each node agent publishes itself.
import type { KubeObject } from '../api/kind.js';
import type { KindRegistry } from '../api/registry.js';
import { StatusError } from '../api/errors.js';
import { formatIPv4, parseCidrV4 } from '../api/cidr.js';
import { systemContext } from './context.js';
import type { RestStore } from './rest.js';

async function ensure(store: RestStore, registry: KindRegistry, apiVersion: string, kind: string, obj: KubeObject, reconcile?: (cur: KubeObject) => KubeObject | undefined): Promise<void> {
  const def = registry.forObject(apiVersion, kind)!;
  const ns = obj.metadata?.namespace ?? '';
  try {
    await store.create(def, ns, { apiVersion, kind, ...obj }, systemContext());
  } catch (err) {
    if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    if (!reconcile) return;
    const cur = await store.get(def, ns, obj.metadata!.name!);
    const want = reconcile(structuredClone(cur));
    if (want) await store.replace(def, ns, obj.metadata!.name!, '', want, systemContext());
  }
}

/** The cluster DNS address: the service CIDR's base + 10 (10.43.0.10 for 10.43.0.0/16). */
export function clusterDnsIp(serviceCidr: string): string {
  const c = parseCidrV4(serviceCidr);
  if (!c) throw new Error(`invalid service CIDR ${serviceCidr}`);
  return formatIPv4(c.base + 10);
}

/** The kube-dns Service: no selector (node agents publish `kube-dns-<node>` slices), node-local traffic. */
export function kubeDnsService(clusterIP: string): KubeObject {
  return {
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      internalTrafficPolicy: 'Local',
      sessionAffinity: 'None',
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    },
  };
}

export async function bootstrap(store: RestStore, registry: KindRegistry, opts: { advertiseIp: string; port: number; serviceIp: string; dnsServiceIp?: string; log?: (msg: string) => void }): Promise<void> {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    await ensure(store, registry, 'v1', 'Namespace', { metadata: { name, labels: { 'kubernetes.io/metadata.name': name } } });
  }
  await ensure(store, registry, 'v1', 'Service', {
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: opts.serviceIp, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.port }], sessionAffinity: 'None' },
  });
  const subsets = [{ addresses: [{ ip: opts.advertiseIp }], ports: [{ name: 'https', port: opts.port, protocol: 'TCP' }] }];
  await ensure(store, registry, 'v1', 'Endpoints', { metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } }, subsets }, (cur) =>
    JSON.stringify(cur.subsets) === JSON.stringify(subsets) ? undefined : { ...cur, subsets },
  );
  const endpoints = [{ addresses: [opts.advertiseIp], conditions: { ready: true } }];
  const ports = [{ name: 'https', port: opts.port, protocol: 'TCP' }];
  await ensure(
    store,
    registry,
    'discovery.k8s.io/v1',
    'EndpointSlice',
    { metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } }, addressType: 'IPv4', endpoints, ports },
    (cur) => (JSON.stringify(cur.endpoints) === JSON.stringify(endpoints) && JSON.stringify(cur.ports) === JSON.stringify(ports) ? undefined : { ...cur, endpoints, ports }),
  );
  if (opts.dnsServiceIp) {
    // created when missing, never overwritten: a user's edits stick
    try {
      await ensure(store, registry, 'v1', 'Service', kubeDnsService(opts.dnsServiceIp));
    } catch (err) {
      // e.g. an older cluster where a user Service already holds that IP: run without it
      if (!(err instanceof StatusError && err.reason === 'Invalid')) throw err;
      opts.log?.(`cannot create kube-system/kube-dns at ${opts.dnsServiceIp}: ${err.message}`);
    }
  }
  for (const [name, value] of [['system-cluster-critical', 2000000000], ['system-node-critical', 2000001000]] as const) {
    await ensure(store, registry, 'scheduling.k8s.io/v1', 'PriorityClass', { metadata: { name }, value, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' });
  }
}
