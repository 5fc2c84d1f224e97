// Table printers for storage.k8s.io.
import type { CSIDriver, CSINode, CSIStorageCapacity, StorageClass, VolumeAttachment } from 'kubernetes-types/storage/v1.js';
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const isDefaultClass = (ann: Record<string, string> | undefined) =>
  ann?.['storageclass.kubernetes.io/is-default-class'] === 'true' || ann?.['storageclass.beta.kubernetes.io/is-default-class'] === 'true';

const storageClass: Printer = {
  columns: [
    nameColumn,
    col('Provisioner', 'string', 'provisioner indicates the type of the provisioner.'),
    col('ReclaimPolicy', 'string', 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.'),
    col('VolumeBindingMode', 'string', 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound. When unset, VolumeBindingImmediate is used.'),
    col('AllowVolumeExpansion', 'string', 'allowVolumeExpansion shows whether the storage class allow volume expand.'),
    ageColumn,
  ],
  cells(obj, now) {
    const sc = obj as StorageClass;
    const name = (sc.metadata?.name ?? '') + (isDefaultClass(sc.metadata?.annotations) ? ' (default)' : '');
    return [
      name, sc.provisioner ?? '', sc.reclaimPolicy ?? 'Delete', sc.volumeBindingMode ?? 'Immediate',
      sc.allowVolumeExpansion ?? false, since(sc.metadata?.creationTimestamp, now),
    ];
  },
};

const volumeAttributesClass: Printer = {
  columns: [nameColumn, col('DriverName', 'string', 'Name of the CSI driver'), ageColumn],
  cells(obj, now) {
    const def = obj.metadata?.annotations?.['storage.kubernetes.io/is-default-class'] === 'true';
    return [(obj.metadata?.name ?? '') + (def ? ' (default)' : ''), obj.driverName ?? '', since(obj.metadata?.creationTimestamp, now)];
  },
};

const csiDriver: Printer = {
  columns: [
    nameColumn,
    col('AttachRequired', 'boolean', 'attachRequired indicates this CSI volume driver requires an attach operation.'),
    col('PodInfoOnMount', 'boolean', 'podInfoOnMount indicates this CSI volume driver requires additional pod information (like podName, podUID, etc.) during mount operations.'),
    col('StorageCapacity', 'boolean', 'storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity that the driver deployment will report.'),
    col('TokenRequests', 'string', 'tokenRequests indicates the CSI driver needs pods\' service account tokens it is mounting volume for to do necessary authentication.'),
    col('RequiresRepublish', 'boolean', 'requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically called to reflect any possible change in the mounted volume.'),
    col('Modes', 'string', 'volumeLifecycleModes defines what kind of volumes this CSI volume driver supports.'),
    ageColumn,
  ],
  cells(obj, now) {
    const d = obj as CSIDriver;
    const s = d.spec ?? {};
    const tokens = s.tokenRequests ? s.tokenRequests.map((t) => t.audience).join(',') : '<unset>';
    return [
      d.metadata?.name ?? '', s.attachRequired ?? true, s.podInfoOnMount ?? false, s.storageCapacity ?? false, tokens,
      s.requiresRepublish ?? false, (s.volumeLifecycleModes ?? []).join(',') || '<none>', since(d.metadata?.creationTimestamp, now),
    ];
  },
};

const csiNode: Printer = {
  columns: [nameColumn, col('Drivers', 'integer', 'Drivers indicates the number of CSI drivers registered on the node'), ageColumn],
  cells: (obj, now) => [obj.metadata?.name ?? '', ((obj as CSINode).spec?.drivers ?? []).length, since(obj.metadata?.creationTimestamp, now)],
};

const csiStorageCapacity: Printer = {
  columns: [
    nameColumn,
    col('StorageClassName', 'string', 'storageClassName represents the name of the StorageClass that the reported capacity applies to.'),
    col('Capacity', 'string', 'capacity is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest with topology and parameters that match the previous fields.'),
  ],
  cells(obj) {
    const c = obj as CSIStorageCapacity;
    return [c.metadata?.name ?? '', c.storageClassName ?? '', c.capacity ?? '<unset>'];
  },
};

const volumeAttachment: Printer = {
  columns: [
    nameColumn,
    col('Attacher', 'string', 'attacher indicates the name of the volume driver that MUST handle this request.', 0, 'name'),
    col('PV', 'string', 'persistentVolumeName represents the name of the persistent volume to attach.'),
    col('Node', 'string', 'nodeName represents the node that the volume should be attached to.'),
    col('Attached', 'boolean', 'attached indicates the volume is successfully attached.'),
    ageColumn,
  ],
  cells(obj, now) {
    const va = obj as VolumeAttachment;
    return [
      va.metadata?.name ?? '', va.spec?.attacher ?? '', va.spec?.source?.persistentVolumeName ?? '', va.spec?.nodeName ?? '',
      va.status?.attached ?? false, since(va.metadata?.creationTimestamp, now),
    ];
  },
};

export const storagePrinters: Record<string, Printer> = {
  StorageClass: storageClass,
  VolumeAttributesClass: volumeAttributesClass,
  CSIDriver: csiDriver,
  CSINode: csiNode,
  CSIStorageCapacity: csiStorageCapacity,
  VolumeAttachment: volumeAttachment,
};
