// Table printers for resource.k8s.io (dynamic resource allocation).
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const nameAge: Printer = {
  columns: [nameColumn, ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', since(obj.metadata?.creationTimestamp, now)],
};

/** STATE: deleted / pending / allocated,reserved. */
export function resourceClaimState(obj: { metadata?: { deletionTimestamp?: string }; status?: { allocation?: unknown; reservedFor?: unknown[] } }): string {
  const states: string[] = [];
  const deleted = !!obj.metadata?.deletionTimestamp;
  if (deleted) states.push('deleted');
  if (!obj.status?.allocation) {
    if (!deleted) states.push('pending');
  } else {
    states.push('allocated');
    if ((obj.status.reservedFor ?? []).length > 0) states.push('reserved');
  }
  return states.join(',');
}

const resourceClaim: Printer = {
  columns: [nameColumn, col('State', 'string', 'A summary of the current state (allocated, pending, reserved, etc.).'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', resourceClaimState(obj), since(obj.metadata?.creationTimestamp, now)],
};

const resourceSlice: Printer = {
  columns: [
    nameColumn,
    col('Node', 'string', 'NodeName identifies the node which provides the resources in this pool.'),
    col('Driver', 'string', 'Driver identifies the DRA driver providing the capacity information.'),
    col('Pool', 'string', 'Name is used to identify the pool.'),
    ageColumn,
  ],
  cells: (obj, now) => [
    obj.metadata?.name ?? '', obj.spec?.nodeName ?? '', obj.spec?.driver ?? '', obj.spec?.pool?.name ?? '',
    since(obj.metadata?.creationTimestamp, now),
  ],
};

export const resourcePrinters: Record<string, Printer> = {
  DeviceClass: nameAge,
  ResourceClaim: resourceClaim,
  ResourceClaimTemplate: nameAge,
  ResourceSlice: resourceSlice,
};
