// VolumeBinding (hook for the storage work): a pod whose PersistentVolumeClaim
// does not exist cannot be scheduled anywhere until it is created.
import { skip, unresolvable, type Handle, type Plugin } from '../framework.js';

export function volumeBinding(handle: Handle): Plugin {
  return {
    name: 'VolumeBinding',
    preFilter(_s, pod) {
      const vols = pod.pod.spec?.volumes ?? [];
      let any = false;
      for (const v of vols) {
        const claim = v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? `${pod.name}-${v.name}` : undefined);
        if (!claim) continue;
        any = true;
        if (!handle.pvcExists(pod.namespace, claim)) return unresolvable(`persistentvolumeclaim "${claim}" not found`);
      }
      return any ? null : skip;
    },
  };
}
