// events.k8s.io/v1 Event: served from the same storage as core/v1 Events
// (/registry/events), converted field by field like upstream.
import { field } from '../errors.js';
import type { KindDefinition, KubeObject } from '../kind.js';
import { type Errs, enumError, isQualifiedName, validateNonnegative } from '../validation.js';
import { eventFieldSelectors } from './core.js';
import { clone } from './util.js';

// events.k8s.io/v1 field → core/v1 field
const renames: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const shared = ['metadata', 'eventTime', 'series', 'action', 'reason', 'related', 'reportingInstance', 'type'];

function copyFields(from: KubeObject, pairs: [string, string][]): KubeObject {
  const out: KubeObject = {};
  for (const k of shared) if (from[k] != null) out[k] = clone(from[k]);
  for (const [a, b] of pairs) if (from[a] != null) out[b] = clone(from[a]);
  return out;
}

/** events.k8s.io/v1 Event → core/v1 Event */
export function eventToCore(obj: KubeObject): KubeObject {
  return { apiVersion: 'v1', kind: 'Event', ...copyFields(obj, renames) };
}

/** core/v1 Event → events.k8s.io/v1 Event */
export function eventFromCore(obj: KubeObject): KubeObject {
  return { apiVersion: 'events.k8s.io/v1', kind: 'Event', ...copyFields(obj, renames.map(([a, b]) => [b, a])) };
}

export const eventsV1: KindDefinition = {
  group: 'events.k8s.io', version: 'v1', kind: 'Event', resource: 'events', namespaced: true, shortNames: ['ev'],
  storageResource: 'events',
  toStorage: eventToCore,
  fromStorage: eventFromCore,
  fieldSelectors: eventFieldSelectors,
  validate(obj) {
    const errs: Errs = [];
    if (!obj.eventTime) errs.push(field.required('eventTime'));
    if (obj.series) {
      if (obj.series.count == null || obj.series.count < 2) errs.push(field.invalid('series.count', obj.series.count ?? 0, 'should be at least 2'));
      if (!obj.series.lastObservedTime) errs.push(field.required('series.lastObservedTime'));
    }
    if (!obj.reportingController) errs.push(field.required('reportingController'));
    else errs.push(...isQualifiedName(obj.reportingController).map((m) => field.invalid('reportingController', obj.reportingController, m)));
    if (!obj.reportingInstance) errs.push(field.required('reportingInstance'));
    else if (obj.reportingInstance.length > 128) errs.push(field.invalid('reportingInstance', '', 'can have at most 128 characters'));
    if (!obj.action) errs.push(field.required('action'));
    else if (obj.action.length > 128) errs.push(field.invalid('action', '', 'can have at most 128 characters'));
    if (!obj.reason) errs.push(field.required('reason'));
    else if (obj.reason.length > 128) errs.push(field.invalid('reason', '', 'can have at most 128 characters'));
    if (obj.note && Buffer.byteLength(obj.note) > 1024) errs.push(field.invalid('note', '', 'can have at most 1024 characters'));
    errs.push(...enumError('type', obj.type, ['Normal', 'Warning'], true));
    const ns = obj.metadata?.namespace;
    if (obj.regarding?.namespace && ns && obj.regarding.namespace !== ns) {
      errs.push(field.invalid('regarding.namespace', obj.regarding.namespace, 'does not match event.namespace'));
    }
    errs.push(...validateNonnegative(obj.deprecatedCount, 'deprecatedCount'));
    return errs;
  },
};

export const eventsKinds: KindDefinition[] = [eventsV1];
