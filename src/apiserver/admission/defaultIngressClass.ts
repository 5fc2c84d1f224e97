// DefaultIngressClass admission: an Ingress created without
// spec.ingressClassName (and without the legacy kubernetes.io/ingress.class
// annotation) gets the IngressClass annotated
// ingressclass.kubernetes.io/is-default-class=true — the newest one when
// several are marked, as upstream picks.
import type { KubeObject } from '../../api/kind.js';
import type { KindRegistry } from '../../api/registry.js';
import type { AdmissionPlugin, RestStore } from '../rest.js';
import type { WatchCache } from '../watchCache.js';

export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';

export function defaultIngressClass(store: () => RestStore, cache: () => WatchCache, registry: KindRegistry): AdmissionPlugin {
  const icDef = registry.byGVR('networking.k8s.io', 'v1', 'ingressclasses')!;
  const sr = () => store().storageResource(icDef);
  return {
    name: 'DefaultIngressClass',
    async admit(a) {
      if (a.op !== 'CREATE' || a.subresource || a.def.group !== 'networking.k8s.io' || a.def.resource !== 'ingresses') return;
      const spec = (a.obj.spec ??= {});
      if (spec.ingressClassName || a.obj.metadata?.annotations?.['kubernetes.io/ingress.class']) return;
      const defaults: KubeObject[] = cache()
        .list(sr(), `/registry/${sr()}/`)
        .map((c) => store().external(icDef, c.obj))
        .filter((ic) => ic.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
      if (!defaults.length) return;
      defaults.sort((x, y) => String(y.metadata?.creationTimestamp ?? '').localeCompare(String(x.metadata?.creationTimestamp ?? '')) || String(x.metadata?.name).localeCompare(String(y.metadata?.name)));
      spec.ingressClassName = defaults[0]!.metadata!.name;
    },
  };
}
