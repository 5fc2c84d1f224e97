// Small helpers on object metadata used by the REST store.
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../api/kind.js';

import { randomNameSuffix } from '../api/names.js';

/** upstream's generateName suffix: 5 chars without vowels, so no words appear by accident */
export const generateNameSuffix = (): string => randomNameSuffix();

export function newUid(): string {
  return randomUUID();
}

/** RFC 3339 with seconds, like upstream's metav1.Time */
export function nowTime(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export function deepCopy<T>(o: T): T {
  return structuredClone(o);
}

/** Compare two objects ignoring resourceVersion and managedFields. */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { resourceVersion: _r, managedFields: _f, ...meta } = o.metadata ?? {};
    return JSON.stringify({ ...o, metadata: meta });
  };
  return strip(a) === strip(b);
}
