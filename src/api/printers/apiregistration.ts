// Table printer for apiregistration.k8s.io APIServices (kube-aggregator's columns).
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const apiService: Printer = {
  columns: [
    nameColumn,
    col('Service', 'string', 'The reference to the service that hosts this API endpoint.'),
    col('Available', 'string', 'Whether this service is available.'),
    ageColumn,
  ],
  cells(obj, now) {
    const svc = obj.spec?.service;
    const service = svc ? `${svc.namespace ?? ''}/${svc.name ?? ''}` : 'Local';
    let available = 'Unknown';
    const c = (obj.status?.conditions ?? []).find((x: { type?: string }) => x.type === 'Available');
    if (c) available = c.status === 'True' || !c.reason ? String(c.status ?? '') : `${c.status} (${c.reason})`;
    return [obj.metadata?.name ?? '', service, available, since(obj.metadata?.creationTimestamp, now)];
  },
};

export const apiregistrationPrinters: Record<string, Printer> = { APIService: apiService };
