// events.k8s.io/v1 Events share storage with core/v1 Events, so they print
// with the same columns, read from the new field names.
import type { Event } from 'kubernetes-types/events/v1.js';
import type { Printer } from '../kind.js';
import { eventCells, eventColumns } from './core.js';

const event: Printer = {
  columns: eventColumns,
  cells(obj, now) {
    const e = obj as Event;
    return eventCells({
      name: e.metadata?.name ?? '', type: e.type, reason: e.reason, message: e.note, involvedObject: e.regarding,
      source: e.deprecatedSource, reportingController: e.reportingController, reportingInstance: e.reportingInstance,
      firstTimestamp: e.deprecatedFirstTimestamp, lastTimestamp: e.deprecatedLastTimestamp, eventTime: e.eventTime,
      count: e.deprecatedCount, series: e.series,
    }, now);
  },
};

export const eventsPrinters: Record<string, Printer> = { Event: event };
