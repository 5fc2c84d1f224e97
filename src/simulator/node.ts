// Simulated Node objects: what a kubelet would register (labels, capacity,
// conditions, addresses, nodeInfo) and the periodic NodeStatus report.
//
// Addresses: InternalIP comes from 10.45.0.0/16. It is only data in status;
// nothing ever sends traffic to it (DESIGN.md allows loopback only).
import type { KubeObject } from '../api/kind.js';
import { isoSeconds, deepEqual } from './util.js';

export interface NodeTemplate {
  capacity: Record<string, string>;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
}

export interface SimNode {
  name: string;
  index: number;
  internalIP: string;
  /** per-node pod range used until node IPAM assigns spec.podCIDR */
  fallbackCidr: string;
  uid?: string;
  nextLeaseAt: number;
  lastStatusAt: number;
  /** heartbeats stopped by fault injection */
  stopped: boolean;
  busy: boolean;
}

const zones = ['zone-a', 'zone-b', 'zone-c'];
export const conditionTypes = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

export function simNode(prefix: string, index: number): SimNode {
  return {
    name: `${prefix}-${index}`,
    index,
    // 10.45.0.0/16 holds 65,024 nodes; .0 and .255 skipped
    internalIP: `10.45.${Math.floor(index / 254) % 256}.${(index % 254) + 1}`,
    // 10.128.0.0/9 split into /24s: 32,768 nodes
    fallbackCidr: `10.${128 + ((index >> 8) % 128)}.${index & 255}.0/24`,
    nextLeaseAt: 0,
    lastStatusAt: 0,
    stopped: false,
    busy: false,
  };
}

const conditionText: Record<string, [string, string, string]> = {
  // type: [healthy status, reason, message]
  Ready: ['True', 'KubeletReady', 'kubelet is posting ready status'],
  MemoryPressure: ['False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  DiskPressure: ['False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  PIDPressure: ['False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
};

/** Healthy conditions; lastTransitionTime kept from `old` when the status did not change. */
export function healthyConditions(old: KubeObject[] | undefined, now: number): KubeObject[] {
  const ts = isoSeconds(now);
  return conditionTypes.map((type) => {
    const [status, reason, message] = conditionText[type];
    const prev = old?.find((c) => c.type === type);
    return { type, status, lastHeartbeatTime: ts, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : ts, reason, message };
  });
}

function staticStatus(n: SimNode, t: NodeTemplate): KubeObject {
  return {
    capacity: { ...t.capacity },
    allocatable: { ...t.capacity },
    addresses: [
      { type: 'InternalIP', address: n.internalIP },
      { type: 'Hostname', address: n.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: `sim-${n.index}`,
      systemUUID: `sim-${n.index}`,
      bootID: `sim-${n.index}`,
      kernelVersion: 'simulated',
      osImage: 'k8ts simulated node',
      containerRuntimeVersion: 'simulated://1.0',
      kubeletVersion: 'v1.32.0-k8ts',
      kubeProxyVersion: 'v1.32.0-k8ts',
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

export function buildNode(n: SimNode, t: NodeTemplate, now = Date.now()): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': n.name,
        'node.kubernetes.io/instance-type': 'simulated',
        'topology.kubernetes.io/zone': zones[n.index % zones.length],
        ...t.labels,
      },
    },
    spec: t.taints.length ? { taints: t.taints.map((x) => ({ ...x })) } : {},
    status: { ...staticStatus(n, t), conditions: healthyConditions(undefined, now) },
  };
}

/**
 * The NodeStatus merge patch to send now, or undefined when nothing needs
 * writing: status is reported when it differs from what is stored (e.g. the
 * node lifecycle controller set Ready=Unknown) or every `reportEveryMs`.
 */
export function statusPatch(n: SimNode, t: NodeTemplate, cached: KubeObject | undefined, reportEveryMs: number, now: number): KubeObject | undefined {
  const st = cached?.status ?? {};
  const want = staticStatus(n, t);
  const healthy = conditionTypes.every((type) => st.conditions?.find((c: KubeObject) => c.type === type)?.status === conditionText[type][0]);
  const staticSame = deepEqual(st.capacity, want.capacity) && deepEqual(st.allocatable, want.allocatable) && deepEqual(st.addresses, want.addresses) && deepEqual(st.nodeInfo, want.nodeInfo);
  if (healthy && staticSame && now - n.lastStatusAt < reportEveryMs) return undefined;
  return { status: { ...want, conditions: healthyConditions(st.conditions, now) } };
}
