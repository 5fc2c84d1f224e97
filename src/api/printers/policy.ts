// Table printers for policy.
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const pdb: Printer = {
  columns: [
    nameColumn,
    col('Min Available', 'string', 'The minimum number of pods that must be available.'),
    col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
    col('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'),
    ageColumn,
  ],
  cells(obj, now) {
    const p = obj as PodDisruptionBudget;
    const text = (v: number | string | undefined) => (v === undefined || v === null ? 'N/A' : String(v));
    return [
      p.metadata?.name ?? '', text(p.spec?.minAvailable), text(p.spec?.maxUnavailable), p.status?.disruptionsAllowed ?? 0,
      since(p.metadata?.creationTimestamp, now),
    ];
  },
};

export const policyPrinters: Record<string, Printer> = { PodDisruptionBudget: pdb };
