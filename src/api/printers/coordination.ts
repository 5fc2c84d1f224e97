// Table printers for coordination.k8s.io.
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const lease: Printer = {
  columns: [nameColumn, col('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease.'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', obj.spec?.holderIdentity ?? '', since(obj.metadata?.creationTimestamp, now)],
};

const leaseCandidate: Printer = {
  columns: [
    nameColumn,
    col('LeaseName', 'string', 'LeaseName is the name of the lease for which this candidate is contending.'),
    col('BinaryVersion', 'string', 'BinaryVersion is the binary version.'),
    col('EmulationVersion', 'string', 'EmulationVersion is the emulation version.'),
    ageColumn,
  ],
  cells: (obj, now) => [
    obj.metadata?.name ?? '', obj.spec?.leaseName ?? '', obj.spec?.binaryVersion ?? '', obj.spec?.emulationVersion ?? '',
    since(obj.metadata?.creationTimestamp, now),
  ],
};

export const coordinationPrinters: Record<string, Printer> = { Lease: lease, LeaseCandidate: leaseCandidate };
