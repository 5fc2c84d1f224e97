// Table printers for autoscaling (v1 and v2 HorizontalPodAutoscalers).
import type { KubeObject, Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

type Any = Record<string, any>;

/** v2 metric specs and statuses; a v1 object's CPU target maps onto a Resource metric, as upstream's conversion does. */
function metricsOf(hpa: KubeObject): { specs: Any[]; statuses: Any[] } {
  const spec = hpa.spec ?? {};
  const status = hpa.status ?? {};
  if (Array.isArray(spec.metrics) || !('targetCPUUtilizationPercentage' in spec)) {
    return { specs: spec.metrics ?? [], statuses: status.currentMetrics ?? [] };
  }
  const specs = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage } } }];
  const statuses = status.currentCPUUtilizationPercentage !== undefined
    ? [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } } }]
    : [];
  return { specs, statuses };
}

const q = (v: unknown) => (v === undefined || v === null ? '<unknown>' : String(v));

/** TARGETS: "cpu: 30%/80%, memory: <unknown>/1Gi + 1 more..." */
export function formatHPAMetrics(specs: Any[], statuses: Any[]): string {
  if (specs.length === 0) return '<none>';
  const list: string[] = [];
  specs.forEach((spec, i) => {
    const st = statuses[i];
    switch (spec.type) {
      case 'External':
      case 'Object': {
        const key = spec.type === 'External' ? 'external' : 'object';
        const target = spec[key]?.target ?? {};
        const cur = st?.[key]?.current;
        if (target.averageValue !== undefined) list.push(`${q(cur?.averageValue)}/${target.averageValue} (avg)`);
        else list.push(`${st?.[key] ? q(cur?.value) : '<unknown>'}/${q(target.value)}`);
        break;
      }
      case 'Pods':
        list.push(`${st?.pods ? q(st.pods.current?.averageValue) : '<unknown>'}/${q(spec.pods?.target?.averageValue)}`);
        break;
      case 'Resource':
      case 'ContainerResource': {
        const key = spec.type === 'Resource' ? 'resource' : 'containerResource';
        const src = spec[key] ?? {};
        const target = src.target ?? {};
        const cur = st?.[key]?.current;
        if (target.averageValue !== undefined) {
          list.push(`${src.name}: ${q(cur?.averageValue)}/${target.averageValue}`);
        } else {
          const current = cur?.averageUtilization !== undefined ? `${cur.averageUtilization}%` : '<unknown>';
          const want = target.averageUtilization !== undefined ? `${target.averageUtilization}%` : '<auto>';
          list.push(`${src.name}: ${current}/${want}`);
        }
        break;
      }
      default:
        list.push('<unknown type>');
    }
  });
  const max = 2;
  if (list.length > max) return `${list.slice(0, max).join(', ')} + ${list.length - max} more...`;
  return list.join(', ');
}

const hpa: Printer = {
  columns: [
    nameColumn,
    col('Reference', 'string', 'scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.'),
    col('Targets', 'string', 'metrics contains the specifications for which to use to calculate the desired replica count.'),
    col('MinPods', 'string', 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.'),
    col('MaxPods', 'string', 'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up.'),
    col('Replicas', 'string', 'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.'),
    ageColumn,
  ],
  cells(obj, now) {
    const spec = obj.spec ?? {};
    const { specs, statuses } = metricsOf(obj);
    return [
      obj.metadata?.name ?? '', `${spec.scaleTargetRef?.kind ?? ''}/${spec.scaleTargetRef?.name ?? ''}`, formatHPAMetrics(specs, statuses),
      spec.minReplicas !== undefined && spec.minReplicas !== null ? String(spec.minReplicas) : '<unset>', spec.maxReplicas ?? 0,
      obj.status?.currentReplicas ?? 0, since(obj.metadata?.creationTimestamp, now),
    ];
  },
};

export const autoscalingPrinters: Record<string, Printer> = { HorizontalPodAutoscaler: hpa };
