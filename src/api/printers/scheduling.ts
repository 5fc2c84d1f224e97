// Table printers for scheduling.k8s.io.
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const priorityClass: Printer = {
  columns: [
    nameColumn,
    col('Value', 'integer', 'value represents the integer value of this priority class.'),
    col('Global-Default', 'boolean', 'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class.'),
    ageColumn,
    col('PreemptionPolicy', 'string', 'preemptionPolicy is the Policy for preempting pods with lower priority.'),
  ],
  cells(obj, now) {
    const pc = obj as PriorityClass;
    return [pc.metadata?.name ?? '', pc.value ?? 0, pc.globalDefault ?? false, since(pc.metadata?.creationTimestamp, now), pc.preemptionPolicy ?? ''];
  },
};

export const schedulingPrinters: Record<string, Printer> = { PriorityClass: priorityClass };
