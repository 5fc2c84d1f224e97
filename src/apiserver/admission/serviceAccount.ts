// ServiceAccount admission (the part that needs no tokens yet): pods run as the
// namespace's `default` ServiceAccount unless they name one.
import type { AdmissionPlugin } from '../rest.js';

export function serviceAccount(): AdmissionPlugin {
  return {
    name: 'ServiceAccount',
    admit(a) {
      if (a.op !== 'CREATE' || a.def.resource !== 'pods' || a.def.group !== '' || a.subresource) return;
      const spec = (a.obj.spec ??= {});
      if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default';
      spec.serviceAccount = spec.serviceAccountName;
    },
  };
}
