// NamespaceLifecycle admission: nothing is created in a namespace that does not
// exist or is terminating; the system namespaces cannot be deleted.
import { errors } from '../../api/errors.js';
import type { AdmissionPlugin, RestStore } from '../rest.js';
import type { WatchCache } from '../watchCache.js';
import type { KindRegistry } from '../../api/registry.js';

const immortal = new Set(['default', 'kube-system', 'kube-public']);

export function namespaceLifecycle(store: () => RestStore, cache: () => WatchCache, registry: KindRegistry): AdmissionPlugin {
  const nsDef = registry.byGVR('', 'v1', 'namespaces')!;
  return {
    name: 'NamespaceLifecycle',
    // checked in the mutating phase, as upstream: a missing namespace is reported before validation errors
    async admit(a) {
      if (a.op === 'DELETE' && a.def === nsDef && immortal.has(a.name)) {
        throw errors.forbidden(`namespaces "${a.name}" is forbidden: this namespace may not be deleted`, 'namespaces', a.name);
      }
      if (a.op !== 'CREATE' || !a.def.namespaced) return;
      let ns = cache().get('namespaces', `/registry/namespaces/${a.namespace}`)?.obj;
      if (!ns) {
        try {
          ns = await store().get(nsDef, '', a.namespace);
        } catch {
          throw errors.notFound('namespaces', a.namespace);
        }
      }
      if (ns.status?.phase === 'Terminating' || ns.metadata?.deletionTimestamp) {
        throw errors.forbidden(
          `${a.def.resource}${a.def.group ? '.' + a.def.group : ''} "${a.name}" is forbidden: unable to create new content in namespace ${a.namespace} because it is being terminated`,
          a.def.resource,
          a.name,
          a.def.group,
        );
      }
    },
  };
}
