// Priority admission: a pod's spec.priorityClassName (or the cluster's
// globalDefault class) resolves to spec.priority and spec.preemptionPolicy; pods
// may not state a different priority themselves. Only one PriorityClass may be
// the global default.
import { errors } from '../../api/errors.js';
import type { KubeObject } from '../../api/kind.js';
import type { KindRegistry } from '../../api/registry.js';
import type { AdmissionAttributes, AdmissionPlugin, RestStore } from '../rest.js';
import type { WatchCache } from '../watchCache.js';

function forbidden(a: AdmissionAttributes, why: string) {
  const res = a.def.group ? `${a.def.resource}.${a.def.group}` : a.def.resource;
  return errors.forbidden(`${res} "${a.name}" is forbidden: ${why}`, a.def.resource, a.name, a.def.group);
}

export function priority(store: () => RestStore, cache: () => WatchCache, registry: KindRegistry): AdmissionPlugin {
  const pcDef = registry.byGVR('scheduling.k8s.io', 'v1', 'priorityclasses')!;
  const sr = () => store().storageResource(pcDef);

  const getClass = async (name: string): Promise<KubeObject | undefined> => {
    const hit = cache().get(sr(), `/registry/${sr()}/${name}`)?.obj;
    if (hit) return store().external(pcDef, hit);
    try {
      return await store().get(pcDef, '', name); // the cache may lag a class created just now
    } catch {
      return undefined;
    }
  };
  const defaults = (): KubeObject[] =>
    cache()
      .list(sr(), `/registry/${sr()}/`)
      .map((c) => store().external(pcDef, c.obj))
      .filter((pc) => pc.globalDefault === true);

  return {
    name: 'Priority',
    async admit(a) {
      if (a.def.group !== '' || a.def.resource !== 'pods' || a.subresource) return;
      const spec = (a.obj.spec ??= {});
      if (a.op === 'UPDATE') {
        // priority is set once at creation; keep it when an update omits it
        if (a.old?.spec?.priority !== undefined && spec.priority === undefined) spec.priority = a.old.spec.priority;
        if (a.old?.spec?.preemptionPolicy !== undefined && spec.preemptionPolicy === undefined) spec.preemptionPolicy = a.old.spec.preemptionPolicy;
        return;
      }
      if (a.op !== 'CREATE') return;
      let value = 0;
      let policy: string | undefined = 'PreemptLowerPriority';
      if (!spec.priorityClassName) {
        // the lowest-valued global default, if several exist
        const def = defaults().sort((x, y) => (x.value ?? 0) - (y.value ?? 0))[0];
        if (def) {
          spec.priorityClassName = def.metadata!.name;
          value = def.value ?? 0;
          policy = def.preemptionPolicy ?? 'PreemptLowerPriority';
        }
      } else {
        const pc = await getClass(spec.priorityClassName);
        if (!pc) throw forbidden(a, `no PriorityClass with name ${spec.priorityClassName} was found`);
        value = pc.value ?? 0;
        policy = pc.preemptionPolicy ?? 'PreemptLowerPriority';
      }
      if (spec.priority != null && spec.priority !== value) {
        throw forbidden(a, `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${value} from the given PriorityClass name`);
      }
      spec.priority = value;
      if (policy) {
        if (spec.preemptionPolicy != null && spec.preemptionPolicy !== policy) {
          throw forbidden(a, `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`);
        }
        spec.preemptionPolicy = policy;
      }
    },
    validate(a) {
      if (a.def.group !== 'scheduling.k8s.io' || a.def.resource !== 'priorityclasses' || a.subresource || (a.op !== 'CREATE' && a.op !== 'UPDATE')) return;
      if (a.obj.globalDefault !== true) return;
      const other = defaults().find((pc) => pc.metadata?.name !== a.name);
      if (other) throw forbidden(a, `PriorityClass ${other.metadata!.name} is already marked as default. Only one default can exist`);
    },
  };
}
