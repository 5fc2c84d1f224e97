// The node's cluster-DNS endpoint: every agent serves DNS itself on its pod
// bridge's gateway address and publishes that address as an EndpointSlice
// `kube-dns-<node>` of the selector-less Service kube-system/kube-dns (whose
// internalTrafficPolicy Local sends each node's pods to their own node). The
// slice is owned by the Node (it goes with it), re-created when someone deletes
// it while the agent runs, and deleted when the agent stops.
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { type ApiClient, isAlreadyExists, isConflict, isNotFound } from '../client/api.js';
import type { Informer } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { ref } from '../client/resources.js';

export const DNS_NAMESPACE = 'kube-system';
export const DNS_SERVICE = 'kube-dns';
/** the managed-by label value of slices the node agent writes (label values have no '/') */
export const NODE_AGENT_MANAGER = 'node-agent.k8ts.io';

type KSlice = EndpointSlice & KubeObject;

export interface DnsEndpointOptions {
  api: ApiClient;
  nodeName: string;
  /** where this node's DNS server listens (the pod bridge's gateway) */
  address: string;
  port?: number;
  /** a shared EndpointSlice informer (all namespaces): re-registers when the slice is deleted */
  endpointSlices?: Informer<KSlice>;
  log: Logger;
}

export function dnsSliceName(nodeName: string): string {
  return `${DNS_SERVICE}-${nodeName}`.slice(0, 253);
}

/** The slice this node publishes (without owner and resourceVersion). */
export function dnsEndpointSlice(nodeName: string, address: string, port = 53): KSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: dnsSliceName(nodeName),
      namespace: DNS_NAMESPACE,
      labels: { 'kubernetes.io/service-name': DNS_SERVICE, 'endpointslice.kubernetes.io/managed-by': NODE_AGENT_MANAGER },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], nodeName, conditions: { ready: true, serving: true, terminating: false } }],
    ports: [
      { name: 'dns', port, protocol: 'UDP' },
      { name: 'dns-tcp', port, protocol: 'TCP' },
    ],
  } as KSlice;
}

export interface DnsEndpoint {
  /** writes (create or update) the slice now */
  register(): Promise<void>;
  /** deletes the slice and stops watching for its deletion */
  stop(): Promise<void>;
}

export async function startDnsEndpoint(o: DnsEndpointOptions): Promise<DnsEndpoint> {
  const slices = new ResourceClient<KSlice>(o.api, ref('discovery.k8s.io', 'endpointslices'));
  const name = dnsSliceName(o.nodeName);
  let stopped = false;
  let owner: { apiVersion: string; kind: string; name: string; uid: string } | undefined;
  const desired = (): KSlice => {
    const s = dnsEndpointSlice(o.nodeName, o.address, o.port);
    if (owner) s.metadata!.ownerReferences = [{ ...owner, blockOwnerDeletion: false }];
    return s;
  };
  const register = async () => {
    if (!owner) {
      const node = await o.api.request<KubeObject>('GET', `/api/v1/nodes/${encodeURIComponent(o.nodeName)}`).catch(() => undefined);
      if (node?.metadata?.uid) owner = { apiVersion: 'v1', kind: 'Node', name: o.nodeName, uid: node.metadata.uid };
    }
    for (let attempt = 0; attempt < 5 && !stopped; attempt++) {
      try {
        const have = await slices.get(DNS_NAMESPACE, name).catch((e) => {
          if (isNotFound(e)) return undefined;
          throw e;
        });
        const want = desired();
        if (!have) {
          await slices.create(want);
        } else {
          // keep the labels others added; ours, the endpoint and the ports are set
          want.metadata = { ...have.metadata, labels: { ...have.metadata?.labels, ...want.metadata!.labels }, ownerReferences: want.metadata!.ownerReferences ?? have.metadata?.ownerReferences };
          if (JSON.stringify([have.endpoints, have.ports, have.metadata?.labels]) === JSON.stringify([want.endpoints, want.ports, want.metadata.labels])) return;
          await slices.update(want);
        }
        o.log.debug({ slice: `${DNS_NAMESPACE}/${name}`, address: o.address }, 'registered the node DNS endpoint');
        return;
      } catch (e) {
        if (!isConflict(e) && !isAlreadyExists(e)) throw e;
      }
    }
  };
  const onDelete = (s: KSlice) => {
    if (stopped || s.metadata?.namespace !== DNS_NAMESPACE || s.metadata?.name !== name) return;
    register().catch((e) => o.log.warn({ err: (e as Error).message }, 'cannot re-register the node DNS endpoint'));
  };
  o.endpointSlices?.addEventHandler({ onDelete });
  // a failed write is retried in the background (the API may be busy or restarting)
  let retry: NodeJS.Timeout | undefined;
  const attempt = async (delayMs: number): Promise<void> => {
    try {
      await register();
    } catch (e) {
      if (stopped) return;
      o.log.warn({ err: (e as Error).message, retryInMs: delayMs }, 'cannot register the node DNS endpoint');
      retry = setTimeout(() => void attempt(Math.min(delayMs * 2, 30_000)), delayMs);
      retry.unref?.();
    }
  };
  await attempt(1000);
  return {
    register,
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      await slices.delete(DNS_NAMESPACE, name).catch((e) => {
        if (!isNotFound(e)) o.log.warn({ err: (e as Error).message }, 'cannot delete the node DNS endpoint');
      });
    },
  };
}
