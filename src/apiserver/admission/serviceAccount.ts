// ServiceAccount admission: pods run as the namespace's `default` ServiceAccount
// unless they name one, and get upstream's token volume `kube-api-access-xxxxx`
// (a projected bound token, the cluster CA from the `kube-root-ca.crt` ConfigMap
// and the namespace) mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount
// in every container — unless automountServiceAccountToken (pod first, then the
// ServiceAccount) says false, or the container already mounts something there.
// Unlike upstream, a ServiceAccount that does not exist yet does not reject the
// pod (the token controller may still be creating `default`); the kubelet retries.
import { randomNameSuffix } from '../../api/names.js';
import type { KubeObject } from '../../api/kind.js';
import type { KindRegistry } from '../../api/registry.js';
import type { AdmissionPlugin, RestStore } from '../rest.js';
import type { WatchCache } from '../watchCache.js';

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

const suffix = () => randomNameSuffix();

export function kubeApiAccessVolume(name = `kube-api-access-${suffix()}`): KubeObject {
  return {
    name,
    projected: {
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

export function serviceAccount(store?: () => RestStore, cache?: () => WatchCache, registry?: KindRegistry): AdmissionPlugin {
  const saDef = registry?.byGVR('', 'v1', 'serviceaccounts');
  const lookup = (ns: string, name: string): KubeObject | undefined => {
    if (!store || !cache || !saDef) return undefined;
    const sr = store().storageResource(saDef);
    return cache().get(sr, `/registry/${sr}/${ns}/${name}`)?.obj;
  };
  return {
    name: 'ServiceAccount',
    admit(a) {
      if (a.op !== 'CREATE' || a.def.resource !== 'pods' || a.def.group !== '' || a.subresource) return;
      const pod = a.obj;
      const spec = (pod.spec ??= {});
      if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || 'default';
      spec.serviceAccount = spec.serviceAccountName;
      if (pod.metadata?.annotations?.[MIRROR_ANNOTATION]) return;
      let automount: boolean | undefined = spec.automountServiceAccountToken;
      if (automount === undefined) automount = lookup(a.namespace ?? pod.metadata?.namespace ?? '', spec.serviceAccountName)?.automountServiceAccountToken;
      if (automount === false) return;
      const containers: KubeObject[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
      const needs = containers.filter((c) => !(c.volumeMounts ?? []).some((m: KubeObject) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH));
      if (!needs.length) return;
      // reuse a kube-api-access volume the pod already carries (e.g. copied from another pod)
      const volumes: KubeObject[] = (spec.volumes ??= []);
      let vol = volumes.find((v) => typeof v.name === 'string' && v.name.startsWith('kube-api-access-') && v.projected);
      if (!vol) {
        const taken = new Set(volumes.map((v) => v.name));
        let name = `kube-api-access-${suffix()}`;
        for (let i = 0; i < 10 && taken.has(name); i++) name = `kube-api-access-${suffix()}`;
        vol = kubeApiAccessVolume(name);
        volumes.push(vol);
      }
      for (const c of needs) (c.volumeMounts ??= []).push({ name: vol.name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
    },
  };
}
