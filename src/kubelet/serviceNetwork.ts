// The node's Service network: the kube-proxy (Service VIPs, NodePorts and
// LoadBalancer ports as iptables rules) and the node's cluster DNS server on the
// pod bridge's gateway address, published as this node's endpoint of
// kube-system/kube-dns. Both read the agent's shared Service and EndpointSlice
// informers; stopping removes the rules, the DNS endpoint and the listener.
import { createHash } from 'node:crypto';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeObject } from '../api/kind.js';
import type { ApiClient } from '../client/api.js';
import type { Informer } from '../client/informer.js';
import { hostUpstreams, startClusterDns } from '../dns/server.js';
import { startProxy } from '../proxy/proxier.js';
import { startDnsEndpoint } from './dnsEndpoint.js';

export interface ServiceNetworkOptions {
  api: ApiClient;
  nodeName: string;
  /** the pod bridge and its gateway address (where the DNS server listens) */
  bridge: string;
  gateway: string;
  /** this node's address(es) */
  nodeIPs: string[];
  clusterCidr: string;
  serviceCidr: string;
  /** DNS upstreams ("host[:port]"); [] = none; undefined = the host's resolv.conf */
  dnsUpstreams?: string[];
  dnsPort?: number;
  services: Informer<Service & KubeObject>;
  endpointSlices: Informer<EndpointSlice & KubeObject>;
  log: Logger;
  metrics?: Registry;
}

export interface ServiceNetwork {
  chainPrefix: string;
  /** where the DNS server listens (absent when it could not start) */
  dns?: { host: string; port: number }[];
  stop(): Promise<void>;
}

/** "KT" + 4 hex digits, unique per node and bridge: several proxies may share one netns (tests). */
export function chainPrefixFor(nodeName: string, bridge: string): string {
  return 'KT' + createHash('sha256').update(`${nodeName}/${bridge}`).digest('hex').slice(0, 4).toUpperCase();
}

export async function startServiceNetwork(o: ServiceNetworkOptions): Promise<ServiceNetwork> {
  const stops: (() => Promise<unknown> | unknown)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (e) {
        o.log.warn({ err: (e as Error).message }, 'service network stop step failed');
      }
    }
  };
  const chainPrefix = chainPrefixFor(o.nodeName, o.bridge);
  try {
    const proxy = await startProxy({
      services: o.services,
      endpointSlices: o.endpointSlices,
      nodeName: o.nodeName,
      nodeIPs: o.nodeIPs,
      clusterCidr: o.clusterCidr,
      serviceCidr: o.serviceCidr,
      chainPrefix,
      log: o.log.child({ component: 'proxy' }),
      metrics: o.metrics,
    });
    stops.push(() => proxy.stop({ cleanup: true }));

    // a node without DNS still runs pods: log and go on
    let dns: { host: string; port: number }[] | undefined;
    try {
      const server = await startClusterDns({
        services: o.services,
        endpointSlices: o.endpointSlices,
        listen: [{ host: o.gateway, port: o.dnsPort ?? 53 }],
        upstreams: o.dnsUpstreams ?? hostUpstreams(),
        serviceCidrs: [o.serviceCidr],
        log: o.log.child({ component: 'dns' }),
        metrics: o.metrics,
      });
      stops.push(() => server.stop());
      dns = server.addresses;
    } catch (e) {
      o.log.error({ err: (e as Error).message, listen: `${o.gateway}:${o.dnsPort ?? 53}` }, 'the node DNS server did not start');
    }
    if (dns) {
      const endpoint = await startDnsEndpoint({ api: o.api, nodeName: o.nodeName, address: o.gateway, port: dns[0]?.port, endpointSlices: o.endpointSlices, log: o.log });
      stops.push(() => endpoint.stop());
    }
    return { chainPrefix, dns, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
