// Server-side Table printers (what `kubectl get` shows), by API group and kind.
import type { Printer } from '../kind.js';
import { admissionregistrationPrinters } from './admissionregistration.js';
import { apiextensionsPrinters } from './apiextensions.js';
import { apiregistrationPrinters } from './apiregistration.js';
import { apiserverinternalPrinters, storagemigrationPrinters } from './apiserverinternal.js';
import { appsPrinters } from './apps.js';
import { autoscalingPrinters } from './autoscaling.js';
import { batchPrinters } from './batch.js';
import { certificatesPrinters } from './certificates.js';
import { coordinationPrinters } from './coordination.js';
import { corePrinters } from './core.js';
import { discoveryPrinters } from './discovery.js';
import { eventsPrinters } from './events.js';
import { flowcontrolPrinters } from './flowcontrol.js';
import { createdAtColumn, nameColumn, rfc3339 } from './format.js';
import { networkingPrinters } from './networking.js';
import { nodePrinters } from './node.js';
import { policyPrinters } from './policy.js';
import { rbacPrinters } from './rbac.js';
import { resourcePrinters } from './resource.js';
import { schedulingPrinters } from './scheduling.js';
import { storagePrinters } from './storage.js';

export { customResourcePrinter } from './apiextensions.js';
export type { PrinterColumnDefinition } from './apiextensions.js';
export { humanDuration } from './format.js';

/**
 * Upstream's default table for kinds without a printer (Roles, ClusterRoles,
 * LimitRanges, CRDs, …): NAME and CREATED AT, the creation time in RFC3339.
 */
export const defaultPrinter: Printer = {
  columns: [nameColumn, createdAtColumn],
  cells: (obj) => [obj.metadata?.name ?? '', rfc3339(obj.metadata?.creationTimestamp)],
};

/** Every built-in group, mapping kind → printer. */
export const printersByGroup: Record<string, Record<string, Printer>> = {
  '': corePrinters,
  apps: appsPrinters,
  batch: batchPrinters,
  'networking.k8s.io': networkingPrinters,
  'discovery.k8s.io': discoveryPrinters,
  'events.k8s.io': eventsPrinters,
  'rbac.authorization.k8s.io': rbacPrinters,
  'storage.k8s.io': storagePrinters,
  'coordination.k8s.io': coordinationPrinters,
  policy: policyPrinters,
  'scheduling.k8s.io': schedulingPrinters,
  autoscaling: autoscalingPrinters,
  'node.k8s.io': nodePrinters,
  'certificates.k8s.io': certificatesPrinters,
  'admissionregistration.k8s.io': admissionregistrationPrinters,
  'flowcontrol.apiserver.k8s.io': flowcontrolPrinters,
  'resource.k8s.io': resourcePrinters,
  'internal.apiserver.k8s.io': apiserverinternalPrinters,
  'storagemigration.k8s.io': storagemigrationPrinters,
  'apiregistration.k8s.io': apiregistrationPrinters,
  'apiextensions.k8s.io': apiextensionsPrinters,
  // Groups with no printers at all still get the default table.
  'authentication.k8s.io': {},
  'authorization.k8s.io': {},
};

/**
 * The printer for a kind ('' is the core group): its specific printer, else
 * defaultPrinter for built-in groups. Undefined for other groups: custom
 * resources print their CRD's additionalPrinterColumns (customResourcePrinter).
 */
export function printerFor(group: string, kind: string): Printer | undefined {
  if (!Object.prototype.hasOwnProperty.call(printersByGroup, group)) return undefined;
  const g = printersByGroup[group]!;
  return Object.prototype.hasOwnProperty.call(g, kind) ? g[kind] : defaultPrinter;
}
