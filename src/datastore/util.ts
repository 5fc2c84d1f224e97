// Small helpers shared by the datastore backends.
import { DatastoreError, type KeyValue } from './types.js';

/**
 * The first string that sorts after every string starting with `prefix`, or undefined
 * when there is none (empty prefix). Keys are compared as SQLite/etcd compare them
 * (bytewise UTF-8); for the BMP below the surrogates this equals JS code-unit order.
 */
export function prefixEnd(prefix: string): string | undefined {
  let p = prefix;
  while (p.length > 0) {
    const last = p.charCodeAt(p.length - 1);
    if (last < 0xffff) return p.slice(0, -1) + String.fromCharCode(last + 1);
    p = p.slice(0, -1);
  }
  return undefined;
}

/** Same as prefixEnd, in bytes (etcd's range_end). Undefined for "to the end". */
export function prefixEndBytes(prefix: Buffer): Buffer | undefined {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      b[i]++;
      return b.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** The key a list starts at: the greater of the prefix and the caller's startKey. */
export function listStart(prefix: string, startKey: string | undefined): string {
  return startKey !== undefined && startKey > prefix ? startKey : prefix;
}

export function compactedError(requested: number, compacted: number): DatastoreError {
  return new DatastoreError(
    'Compacted',
    `required revision ${requested} has been compacted (compacted revision ${compacted})`,
    undefined,
    compacted,
  );
}

export function futureError(requested: number, current: number): DatastoreError {
  return new DatastoreError('FutureRevision', `required revision ${requested} is a future revision (current ${current})`);
}

export function notFound(key: string): DatastoreError {
  return new DatastoreError('NotFound', `key not found: ${key}`);
}

export function keyExists(key: string): DatastoreError {
  return new DatastoreError('KeyExists', `key already exists: ${key}`);
}

export function conflict(key: string, expected: number, current: KeyValue | undefined): DatastoreError {
  return new DatastoreError(
    'Conflict',
    `modRevision mismatch for ${key}: expected ${expected}, is ${current ? current.modRevision : 'absent'}`,
    current,
  );
}

export function closedError(): DatastoreError {
  return new DatastoreError('Unavailable', 'datastore is closed');
}
