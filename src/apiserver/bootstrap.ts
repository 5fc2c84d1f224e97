// What every cluster has from its first second: the system namespaces, the
// `kubernetes` Service at the first service IP, and its endpoints (the apiserver).
import type { KubeObject } from '../api/kind.js';
import type { KindRegistry } from '../api/registry.js';
import { StatusError } from '../api/errors.js';
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

export async function bootstrap(store: RestStore, registry: KindRegistry, opts: { advertiseIp: string; port: number; serviceIp: string }): Promise<void> {
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
  for (const [name, value] of [['system-cluster-critical', 2000000000], ['system-node-critical', 2000001000]] as const) {
    await ensure(store, registry, 'scheduling.k8s.io/v1', 'PriorityClass', { metadata: { name }, value, description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.' });
  }
}
