// Downward API values: pod fields (fieldRef) and container resources
// (resourceFieldRef), shared by downwardAPI volumes and env vars (the pod worker
// can use these for `env[].valueFrom` too).
import type { Container, Pod } from 'kubernetes-types/core/v1.js';
import { parseQuantity, scaledValue, toInt, toMillis } from '../../api/quantity.js';

export class DownwardError extends Error {}

/** `key="value"` lines sorted by key: the format of the labels/annotations files. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/**
 * The value a fieldRef selects. `forVolume` limits the fields to those a
 * downwardAPI volume may use (metadata only), as upstream validation does.
 */
export function fieldRefValue(pod: Pod, fieldPath: string, forVolume = false): string {
  const md = pod.metadata ?? {};
  const m = subscript.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? md.labels : md.annotations)?.[m[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return formatMap(md.labels);
    case 'metadata.annotations':
      return formatMap(md.annotations);
  }
  if (!forVolume) {
    switch (fieldPath) {
      case 'spec.nodeName':
        return pod.spec?.nodeName ?? '';
      case 'spec.serviceAccountName':
        return pod.spec?.serviceAccountName ?? '';
      case 'status.hostIP':
        return pod.status?.hostIP ?? '';
      case 'status.hostIPs':
        return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(',');
      case 'status.podIP':
        return pod.status?.podIP ?? '';
      case 'status.podIPs':
        return (pod.status?.podIPs ?? []).map((i) => i.ip).join(',');
    }
  }
  throw new DownwardError(`unsupported fieldPath: ${fieldPath}`);
}

export interface NodeAllocatable {
  cpu?: string;
  memory?: string;
  'ephemeral-storage'?: string;
}

/**
 * The value a resourceFieldRef selects (`limits.cpu`, `requests.memory`, …),
 * divided by the divisor and rounded up. An unset limit reads as the node's
 * allocatable amount, like upstream.
 */
export function resourceFieldValue(container: Container, resource: string, divisor: string | number | undefined, node: NodeAllocatable = {}): string {
  const [kind, name] = resource.split('.', 2) as [string, string | undefined];
  if ((kind !== 'limits' && kind !== 'requests') || !name || !['cpu', 'memory', 'ephemeral-storage'].includes(name)) {
    throw new DownwardError(`unsupported container resource: ${resource}`);
  }
  const res = container.resources ?? {};
  let q: string | number | undefined = kind === 'limits' ? res.limits?.[name] : (res.requests?.[name] ?? res.limits?.[name]);
  // an unset request stays 0; an unset limit is the node's allocatable amount
  if (q === undefined) q = kind === 'limits' ? (node[name as keyof NodeAllocatable] ?? '0') : '0';
  const div = parseQuantity(divisor ?? '1');
  if (scaledValue(div, -9) <= 0n) throw new DownwardError(`invalid divisor for ${resource}`);
  if (name === 'cpu') return String(Math.ceil(toMillis(q) / toMillis(div)));
  return String(Math.ceil(toInt(q) / toInt(div) || 0));
}
