// How objects are stored: JSON without metadata.resourceVersion (the datastore's
// modRevision is the resourceVersion), encrypted for configured resources.
import type { KubeObject } from '../api/kind.js';
import type { KeyValue } from '../datastore/types.js';
import type { Encryptor } from './encryption.js';

export class Codec {
  constructor(private readonly encryptor?: Encryptor) {}

  encode(storageResource: string, key: string, obj: KubeObject): Buffer {
    const meta = obj.metadata ?? {};
    const rv = meta.resourceVersion;
    // drop the resourceVersion without copying the object
    if (rv !== undefined) delete meta.resourceVersion;
    const bytes = Buffer.from(JSON.stringify(obj));
    if (rv !== undefined) meta.resourceVersion = rv;
    if (this.encryptor?.applies(storageResource)) return Buffer.from(this.encryptor.encrypt(bytes, key));
    return bytes;
  }

  decode(storageResource: string, kv: KeyValue): KubeObject {
    let bytes = kv.value;
    if (this.encryptor?.applies(storageResource)) bytes = this.encryptor.decrypt(bytes, kv.key);
    const obj = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as KubeObject;
    (obj.metadata ??= {}).resourceVersion = String(kv.modRevision);
    return obj;
  }
}

/** '/registry/pods/default/web' → 'pods' */
export function storageResourceOfKey(key: string): string {
  const i = key.indexOf('/', 10);
  return key.slice(10, i < 0 ? undefined : i);
}

export function objectKey(storageResource: string, namespace: string | undefined, name: string): string {
  return namespace ? `/registry/${storageResource}/${namespace}/${name}` : `/registry/${storageResource}/${name}`;
}

export function prefixKey(storageResource: string, namespace?: string): string {
  return namespace ? `/registry/${storageResource}/${namespace}/` : `/registry/${storageResource}/`;
}
