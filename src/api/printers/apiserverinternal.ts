// Table printers for internal.apiserver.k8s.io and storagemigration.k8s.io.
import type { Printer } from '../kind.js';
import { ageColumn, col, listWithMore, nameColumn, since } from './format.js';

const storageVersion: Printer = {
  columns: [
    nameColumn,
    col('CommonEncodingVersion', 'string', 'If all API server instances agree on the same encoding storage version, then this field is set to that version.'),
    col('StorageVersions', 'string', 'The reported versions per API server instance.'),
    ageColumn,
  ],
  cells(obj, now) {
    const list = (obj.status?.storageVersions ?? []).map((sv: { apiServerID?: string; encodingVersion?: string }) => `${sv.apiServerID ?? ''}=${sv.encodingVersion ?? ''}`);
    return [obj.metadata?.name ?? '', obj.status?.commonEncodingVersion ?? '<unset>', listWithMore(list, list.length, 3), since(obj.metadata?.creationTimestamp, now)];
  },
};

export const apiserverinternalPrinters: Record<string, Printer> = { StorageVersion: storageVersion };

const storageVersionMigration: Printer = {
  // Upstream leaves the name format off this table.
  columns: [{ ...nameColumn, format: undefined }, col('Resource', 'string', 'Fully qualified resource to migrate')],
  cells(obj) {
    const r = obj.spec?.resource ?? {};
    return [obj.metadata?.name ?? '', `${r.resource ?? ''}.${r.version ?? ''}.${r.group ?? ''}`];
  },
};

export const storagemigrationPrinters: Record<string, Printer> = { StorageVersionMigration: storageVersionMigration };
