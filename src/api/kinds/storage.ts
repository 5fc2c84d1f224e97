// storage.k8s.io/v1 kinds: StorageClass, CSIDriver, CSINode, VolumeAttachment.
import { field } from '../errors.js';
import type { KindDefinition } from '../kind.js';
import { type Errs, deepEqual, enumError, immutable, isDNS1123Subdomain, isQualifiedName, nameErrors } from '../validation.js';
import { ensure } from './util.js';

const storage = { group: 'storage.k8s.io', version: 'v1' } as const;

function validateProvisionerName(v: unknown, path: string): Errs {
  if (!v) return [field.required(path)];
  const s = String(v);
  if (s.length > 63) return [field.tooLong(path, 63)];
  return isQualifiedName(s.toLowerCase()).map((m) => field.invalid(path, s, m));
}

export const storageclasses: KindDefinition = {
  ...storage, kind: 'StorageClass', resource: 'storageclasses', namespaced: false, shortNames: ['sc'],
  defaults(obj) {
    obj.reclaimPolicy ||= 'Delete';
    obj.volumeBindingMode ||= 'Immediate';
  },
  validate(obj, old) {
    const errs: Errs = [];
    errs.push(...validateProvisionerName(obj.provisioner, 'provisioner'));
    errs.push(...enumError('reclaimPolicy', obj.reclaimPolicy, ['Delete', 'Retain']));
    errs.push(...enumError('volumeBindingMode', obj.volumeBindingMode, ['Immediate', 'WaitForFirstConsumer'], true));
    const params = obj.parameters ?? {};
    if (Object.keys(params).length > 512) errs.push(field.tooLong('parameters', 512));
    if (old) {
      if (!deepEqual(obj.parameters, old.parameters)) errs.push(field.forbidden('parameters', 'updates to parameters are forbidden.'));
      if (obj.provisioner !== old.provisioner) errs.push(field.forbidden('provisioner', 'updates to provisioner are forbidden.'));
      if (obj.reclaimPolicy !== old.reclaimPolicy) errs.push(field.forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
      errs.push(...immutable(obj.volumeBindingMode, old.volumeBindingMode, 'volumeBindingMode'));
    }
    return errs;
  },
};

export const csidrivers: KindDefinition = {
  ...storage, kind: 'CSIDriver', resource: 'csidrivers', namespaced: false,
  defaults(obj) {
    const spec = ensure(obj, 'spec');
    spec.attachRequired ??= true;
    spec.podInfoOnMount ??= false;
    spec.storageCapacity ??= false;
    spec.fsGroupPolicy ||= 'ReadWriteOnceWithFSType';
    if (!(spec.volumeLifecycleModes?.length > 0)) spec.volumeLifecycleModes = ['Persistent'];
    spec.requiresRepublish ??= false;
    spec.seLinuxMount ??= false;
  },
  validate(obj, old) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    errs.push(...enumError('spec.fsGroupPolicy', spec.fsGroupPolicy, ['ReadWriteOnceWithFSType', 'File', 'None']));
    (spec.volumeLifecycleModes ?? []).forEach((m: string, i: number) => errs.push(...enumError(`spec.volumeLifecycleModes[${i}]`, m, ['Persistent', 'Ephemeral'])));
    (spec.tokenRequests ?? []).forEach((t: any, i: number) => {
      if (t?.expirationSeconds != null && t.expirationSeconds < 600) errs.push(field.invalid(`spec.tokenRequests[${i}].expirationSeconds`, t.expirationSeconds, 'may not specify a duration less than 10 minutes'));
    });
    if (old) {
      errs.push(...immutable(spec.attachRequired, old.spec?.attachRequired, 'spec.attachRequired'));
      errs.push(...immutable(spec.podInfoOnMount, old.spec?.podInfoOnMount, 'spec.podInfoOnMount'));
      errs.push(...immutable(spec.volumeLifecycleModes, old.spec?.volumeLifecycleModes, 'spec.volumeLifecycleModes'));
    }
    return errs;
  },
};

export const csinodes: KindDefinition = {
  ...storage, kind: 'CSINode', resource: 'csinodes', namespaced: false,
  validate(obj) {
    const errs: Errs = [];
    const seen = new Set<string>();
    (obj.spec?.drivers ?? []).forEach((d: any, i: number) => {
      const p = `spec.drivers[${i}]`;
      errs.push(...validateProvisionerName(d?.name, `${p}.name`));
      if (!d?.nodeID) errs.push(field.required(`${p}.nodeID`));
      if (d?.allocatable?.count != null && d.allocatable.count < 0) errs.push(field.invalid(`${p}.allocatable.count`, d.allocatable.count, 'must be greater than or equal to 0'));
      if (d?.name) {
        if (seen.has(d.name)) errs.push(field.duplicate(`${p}.name`, d.name));
        seen.add(d.name);
      }
    });
    return errs;
  },
};

export const volumeattachments: KindDefinition = {
  ...storage, kind: 'VolumeAttachment', resource: 'volumeattachments', namespaced: false, statusSubresource: true,
  prepareForCreate(obj) { obj.status = { attached: false }; },
  validate(obj, old) {
    const errs: Errs = [];
    const spec = obj.spec ?? {};
    errs.push(...validateProvisionerName(spec.attacher, 'spec.attacher'));
    if (!spec.nodeName) errs.push(field.required('spec.nodeName'));
    else errs.push(...nameErrors('spec.nodeName', spec.nodeName, isDNS1123Subdomain(spec.nodeName)));
    const src = spec.source ?? {};
    const set = ['persistentVolumeName', 'inlineVolumeSpec'].filter((k) => src[k] != null);
    if (set.length !== 1) errs.push(field.required('spec.source', 'Required value: must specify exactly one of inlineVolumeSpec and persistentVolumeName'));
    if (old) errs.push(...immutable(spec, old.spec, 'spec'));
    return errs;
  },
};

export const storageKinds: KindDefinition[] = [storageclasses, csidrivers, csinodes, volumeattachments];
