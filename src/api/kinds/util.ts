// Small helpers shared by the kind definitions.
import type { KubeObject } from '../kind.js';
import { deepEqual } from '../validation.js';

export function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

/** Strategy: new objects of kinds that track spec changes start at generation 1. */
export function initGeneration(obj: KubeObject): void {
  obj.metadata ??= {};
  (obj.metadata as any).generation = 1;
}

/** Strategy: bump metadata.generation when the spec (or the given extra fields) changed. */
export function bumpGeneration(obj: KubeObject, old: KubeObject, keys: string[] = ['spec']): void {
  obj.metadata ??= {};
  const prev = old.metadata?.generation ?? 1;
  const changed = keys.some((k) => !deepEqual(obj[k], old[k]));
  (obj.metadata as any).generation = changed ? prev + 1 : prev;
}

export function ensure(obj: Record<string, any>, key: string): Record<string, any> {
  if (obj[key] == null || typeof obj[key] !== 'object') obj[key] = {};
  return obj[key];
}
