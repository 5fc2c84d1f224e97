// Name hashes for controller-made objects (pod-template-hash, revision names):
// 32-bit FNV-1a, rendered with upstream's "safe" alphabet.

/** 32-bit FNV-1a over bytes (a string is hashed as its UTF-8 bytes). */
export function fnv32a(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export { safeAlphabet } from '../../api/names.js';
