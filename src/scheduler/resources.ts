// Resource arithmetic for scheduling: what a pod requests (containers, init
// containers, restartable sidecars and overhead) and what a node offers, as plain
// numbers (milli-CPU, bytes, counts) so filters never parse quantities.
import type { Pod, Container, Node } from 'kubernetes-types/core/v1.js';
import { toInt, toMillis } from '../api/quantity.js';

export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** pod count (allocatable "pods"); for a pod's requests always 1 */
  pods: number;
  /** extended resources (example.com/gpu, hugepages-2Mi, …) */
  scalar?: Map<string, number>;
}

export const emptyResources = (): Resources => ({ milliCPU: 0, memory: 0, ephemeralStorage: 0, pods: 0 });

// upstream's defaults for containers without requests, used only for scoring so
// that many zero-request pods do not pile onto one node
export const defaultMilliCPURequest = 100;
export const defaultMemoryRequest = 200 * 1024 * 1024;

function isScalar(name: string): boolean {
  return name.startsWith('hugepages-') || (name.includes('/') && !name.startsWith('kubernetes.io/')) || name.startsWith('attachable-volumes-');
}

function safe(f: () => number): number {
  try {
    return f();
  } catch {
    return 0;
  }
}

/** A ResourceList (requests, allocatable) as numbers. */
export function fromList(list: Record<string, unknown> | undefined): Resources {
  const r = emptyResources();
  if (!list) return r;
  for (const [name, q] of Object.entries(list)) {
    const v = q as string | number;
    if (name === 'cpu') r.milliCPU = safe(() => toMillis(v));
    else if (name === 'memory') r.memory = safe(() => toInt(v));
    else if (name === 'ephemeral-storage') r.ephemeralStorage = safe(() => toInt(v));
    else if (name === 'pods') r.pods = safe(() => toInt(v));
    else if (isScalar(name)) (r.scalar ??= new Map()).set(name, safe(() => toInt(v)));
  }
  return r;
}

export function addTo(acc: Resources, x: Resources, sign = 1): void {
  acc.milliCPU += sign * x.milliCPU;
  acc.memory += sign * x.memory;
  acc.ephemeralStorage += sign * x.ephemeralStorage;
  acc.pods += sign * x.pods;
  if (x.scalar) for (const [k, v] of x.scalar) (acc.scalar ??= new Map()).set(k, (acc.scalar.get(k) ?? 0) + sign * v);
}

function maxInto(acc: Resources, x: Resources): void {
  acc.milliCPU = Math.max(acc.milliCPU, x.milliCPU);
  acc.memory = Math.max(acc.memory, x.memory);
  acc.ephemeralStorage = Math.max(acc.ephemeralStorage, x.ephemeralStorage);
  if (x.scalar) for (const [k, v] of x.scalar) (acc.scalar ??= new Map()).set(k, Math.max(acc.scalar.get(k) ?? 0, v));
}

export function cloneResources(r: Resources): Resources {
  return { ...r, scalar: r.scalar ? new Map(r.scalar) : undefined };
}

function containerRequests(c: Container, nonZero: boolean): Resources {
  const r = fromList(c.resources?.requests as Record<string, unknown> | undefined);
  if (nonZero) {
    const req = (c.resources?.requests ?? {}) as Record<string, unknown>;
    if (req.cpu === undefined) r.milliCPU = defaultMilliCPURequest;
    if (req.memory === undefined) r.memory = defaultMemoryRequest;
  }
  return r;
}

/**
 * Effective requests of a pod: the sum of its containers and restartable init
 * containers (sidecars run alongside), or the largest single init container
 * step (which runs beside the sidecars started before it) if that is bigger,
 * plus the pod overhead. `nonZero` substitutes scoring defaults for missing
 * cpu/memory requests.
 */
export function podRequests(pod: Pod, nonZero = false): Resources {
  const sum = emptyResources();
  for (const c of pod.spec?.containers ?? []) addTo(sum, containerRequests(c, nonZero));
  const initMax = emptyResources();
  const sidecars = emptyResources();
  for (const c of pod.spec?.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addTo(sum, r);
      addTo(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      const step = cloneResources(r);
      addTo(step, sidecars);
      maxInto(initMax, step);
    }
  }
  maxInto(sum, initMax);
  if (pod.spec?.overhead) addTo(sum, fromList(pod.spec.overhead as Record<string, unknown>));
  sum.pods = 1;
  return sum;
}

export function nodeAllocatable(node: Node): Resources {
  return fromList((node.status?.allocatable ?? node.status?.capacity) as Record<string, unknown> | undefined);
}
