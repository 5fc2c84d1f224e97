// Table printers for flowcontrol.apiserver.k8s.io.
import type { Printer } from '../kind.js';
import { ageColumn, col, nameColumn, since } from './format.js';

const flowSchema: Printer = {
  columns: [
    nameColumn,
    col('PriorityLevel', 'string', '`name` is the name of the priority level configuration being referenced'),
    col('MatchingPrecedence', 'string', '`matchingPrecedence` is used to choose among the FlowSchemas that match a given request.'),
    col('DistinguisherMethod', 'string', '`distinguisherMethod` defines how to compute the flow distinguisher for requests that match this schema.'),
    ageColumn,
    col('MissingPL', 'string', 'references a broken or non-existent PriorityLevelConfiguration'),
  ],
  cells(obj, now) {
    const spec = obj.spec ?? {};
    const dangling = (obj.status?.conditions ?? []).find((c: { type?: string }) => c.type === 'Dangling');
    return [
      obj.metadata?.name ?? '', spec.priorityLevelConfiguration?.name ?? '', spec.matchingPrecedence ?? 0,
      spec.distinguisherMethod?.type ?? '<none>', since(obj.metadata?.creationTimestamp, now), dangling ? dangling.status ?? '' : '?',
    ];
  },
};

const priorityLevel: Printer = {
  columns: [
    nameColumn,
    col('Type', 'string', '`type` indicates whether this priority level is subject to limitation on request execution.'),
    col('NominalConcurrencyShares', 'string', '`nominalConcurrencyShares` (NCS) contributes to the computation of the NominalConcurrencyLimit (NominalCL) of this level.'),
    col('Queues', 'string', '`queues` is the number of queues for this priority level.'),
    col('HandSize', 'string', '`handSize` is a small positive number that configures the shuffle sharding of requests into queues.'),
    col('QueueLengthLimit', 'string', '`queueLengthLimit` is the maximum number of requests allowed to be waiting in a given queue of this priority level at a time.'),
    ageColumn,
  ],
  cells(obj, now) {
    const spec = obj.spec ?? {};
    let ncs: unknown = '<none>';
    let queues: unknown = '<none>';
    let hand: unknown = '<none>';
    let qlen: unknown = '<none>';
    if (spec.limited) {
      ncs = spec.limited.nominalConcurrencyShares ?? 0;
      const qc = spec.limited.limitResponse?.queuing;
      if (qc) {
        queues = qc.queues ?? 0;
        hand = qc.handSize ?? 0;
        qlen = qc.queueLengthLimit ?? 0;
      }
    }
    return [obj.metadata?.name ?? '', spec.type ?? '', ncs, queues, hand, qlen, since(obj.metadata?.creationTimestamp, now)];
  },
};

export const flowcontrolPrinters: Record<string, Printer> = {
  FlowSchema: flowSchema,
  PriorityLevelConfiguration: priorityLevel,
};
