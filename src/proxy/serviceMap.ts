// The proxy's view of a Service: one ServicePort per (port name, protocol), with
// every address it answers on (ClusterIP, externalIPs, LoadBalancer ingress,
// NodePort) and the policies that shape its rules. kube-proxy's ServicePort.
// Headless and ExternalName Services, and IPv6 addresses, give no ports here.
import type { Service } from 'kubernetes-types/core/v1.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  /** `ns/name:portName/protocol`: unique per service port, stable across updates */
  id: string;
  /** `ns/name`, the informer key */
  svcKey: string;
  /** port name ('' for an unnamed single port): matches EndpointSlice ports by name */
  portName: string;
  protocol: Protocol;
  port: number;
  clusterIPs: string[];
  /** 0 = none */
  nodePort: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIPs: string[];
  /** type LoadBalancer without spec.loadBalancerClass: k8ts's servicelb (klipper-lb style) also opens the port on every local address */
  localLoadBalancer: boolean;
  /** externalTrafficPolicy Local: external traffic only to this node's endpoints, client IP kept */
  externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local: ClusterIP traffic only to this node's endpoints */
  internalPolicyLocal: boolean;
  /** sessionAffinity ClientIP timeout in seconds; 0 = no affinity */
  affinitySeconds: number;
}

const isIPv4 = (s: string | undefined): s is string => !!s && /^\d{1,3}(\.\d{1,3}){3}$/.test(s);

/** upstream default for sessionAffinityConfig.clientIP.timeoutSeconds (3 hours) */
export const DEFAULT_AFFINITY_SECONDS = 10_800;

/** The ports the proxy programs for a Service (empty for headless / ExternalName / IP-less ones). */
export function servicePortsOf(svc: Service & { metadata?: { namespace?: string; name?: string } }): ServicePort[] {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return [];
  const clusterIPs = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter(isIPv4);
  // headless ('None') or not yet allocated: nothing to proxy
  if (!clusterIPs.length) return [];
  const svcKey = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
  const isLB = spec.type === 'LoadBalancer';
  const hasNodePorts = spec.type === 'NodePort' || isLB;
  const loadBalancerIPs = isLB ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter(isIPv4) : [];
  const externalIPs = (spec.externalIPs ?? []).filter(isIPv4);
  const affinitySeconds = spec.sessionAffinity === 'ClientIP' ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS) : 0;
  const out: ServicePort[] = [];
  for (const p of spec.ports ?? []) {
    const protocol = (p.protocol ?? 'TCP') as Protocol;
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') continue;
    const portName = p.name ?? '';
    out.push({
      id: `${svcKey}:${portName}/${protocol}`,
      svcKey,
      portName,
      protocol,
      port: p.port,
      clusterIPs,
      nodePort: hasNodePorts && p.nodePort ? p.nodePort : 0,
      externalIPs,
      loadBalancerIPs,
      localLoadBalancer: isLB && !spec.loadBalancerClass,
      externalPolicyLocal: spec.externalTrafficPolicy === 'Local',
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      affinitySeconds,
    });
  }
  return out;
}
