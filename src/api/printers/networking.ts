// Table printers for networking.k8s.io.
import type { Ingress, IngressClass, NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import type { Printer } from '../kind.js';
import { ageColumn, col, formatLabelSelector, nameColumn, since } from './format.js';
import { lbIngressText } from './core.js';

/** Up to three hosts, "*" when no rule names a host. */
export function ingressHosts(ing: Ingress): string {
  const rules = ing.spec?.rules ?? [];
  const max = 3;
  const list: string[] = [];
  let more = false;
  for (const r of rules) {
    if (list.length === max) more = true;
    if (!more && r.host) list.push(r.host);
  }
  if (list.length === 0) return '*';
  const ret = list.join(',');
  return more ? `${ret} + ${rules.length - max} more...` : ret;
}

const ingress: Printer = {
  columns: [
    nameColumn,
    col('Class', 'string', 'The name of the IngressClass resource that should be used for additional configuration'),
    col('Hosts', 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
    col('Address', 'string', 'Address is a list containing ingress points for the load-balancer'),
    col('Ports', 'string', 'Ports of TLS configurations that open'),
    ageColumn,
  ],
  cells(obj, now) {
    const ing = obj as Ingress;
    return [
      ing.metadata?.name ?? '', ing.spec?.ingressClassName ?? '<none>', ingressHosts(ing),
      lbIngressText(ing.status?.loadBalancer?.ingress), (ing.spec?.tls ?? []).length > 0 ? '80, 443' : '80',
      since(ing.metadata?.creationTimestamp, now),
    ];
  },
};

const ingressClass: Printer = {
  columns: [
    nameColumn,
    col('Controller', 'string', 'Controller that is responsible for handling this class'),
    col('Parameters', 'string', 'A reference to a resource with additional parameters'),
    ageColumn,
  ],
  cells(obj, now) {
    const ic = obj as IngressClass;
    const p = ic.spec?.parameters;
    let params = '<none>';
    if (p) params = `${p.kind}${p.apiGroup !== undefined ? `.${p.apiGroup}` : ''}/${p.name}`;
    return [ic.metadata?.name ?? '', ic.spec?.controller ?? '', params, since(ic.metadata?.creationTimestamp, now)];
  },
};

const networkPolicy: Printer = {
  columns: [nameColumn, col('Pod-Selector', 'string', 'Selects the pods to which this NetworkPolicy object applies.'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', formatLabelSelector((obj as NetworkPolicy).spec?.podSelector), since(obj.metadata?.creationTimestamp, now)],
};

const serviceCIDR: Printer = {
  columns: [nameColumn, col('CIDRs', 'string', 'CIDRs defines the IP blocks in CIDR notation from which to assign service cluster IPs.'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', (obj.spec?.cidrs ?? []).join(','), since(obj.metadata?.creationTimestamp, now)],
};

const ipAddress: Printer = {
  // Upstream declares no Age column here (its cells carry one anyway); we keep the two declared columns.
  columns: [nameColumn, col('ParentRef', 'string', 'ParentRef references the resource that an IPAddress is attached to.')],
  cells(obj) {
    const ref = obj.spec?.parentRef;
    let parent = '<none>';
    if (ref) {
      parent = (ref.group ? `${ref.resource}.${ref.group}` : `${ref.resource ?? ''}`).toLowerCase();
      if (ref.namespace) parent += `/${ref.namespace}`;
      parent += `/${ref.name ?? ''}`;
    }
    return [obj.metadata?.name ?? '', parent];
  },
};

export const networkingPrinters: Record<string, Printer> = {
  Ingress: ingress,
  IngressClass: ingressClass,
  NetworkPolicy: networkPolicy,
  ServiceCIDR: serviceCIDR,
  IPAddress: ipAddress,
};
