// Encryption at rest (AES-256-GCM) for Secrets and other configured resources.
// Stored form: "k8s:enc:aesgcm:v1:<keyName>:" + 12-byte nonce + ciphertext + 16-byte tag,
// the same envelope upstream's aesgcm provider writes. Old keys stay readable after rotation.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const PREFIX = 'k8s:enc:aesgcm:v1:';

export interface EncryptionKeys {
  /** the key new writes use */
  current: string;
  keys: Record<string, string>; // name -> base64 32-byte key
}

export class Encryptor {
  private readonly keys = new Map<string, Buffer>();
  private readonly current: string;

  constructor(cfg: EncryptionKeys, public readonly resources: Set<string> = new Set(['secrets'])) {
    for (const [name, b64] of Object.entries(cfg.keys)) this.keys.set(name, Buffer.from(b64, 'base64'));
    this.current = cfg.current;
    if (!this.keys.has(this.current)) throw new Error(`encryption key ${this.current} missing`);
  }

  /** Load DIR/encryption.json, creating a fresh key on first start. */
  static fromFile(path: string): Encryptor {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      const cfg: EncryptionKeys = { current: 'key1', keys: { key1: randomBytes(32).toString('base64') } };
      writeFileSync(path, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    }
    return new Encryptor(JSON.parse(readFileSync(path, 'utf8')));
  }

  /** Add a new key and make it current (old keys stay for reading). */
  static rotate(path: string): string {
    const cfg: EncryptionKeys = JSON.parse(readFileSync(path, 'utf8'));
    let n = Object.keys(cfg.keys).length + 1;
    while (cfg.keys[`key${n}`]) n++;
    cfg.keys[`key${n}`] = randomBytes(32).toString('base64');
    cfg.current = `key${n}`;
    writeFileSync(path, JSON.stringify(cfg, null, 2), { mode: 0o600 });
    return cfg.current;
  }

  applies(storageResource: string): boolean {
    return this.resources.has(storageResource);
  }

  encrypt(plain: Uint8Array, key: string): Uint8Array {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.current)!, nonce);
    cipher.setAAD(Buffer.from(key)); // binds the value to its key: no swapping ciphertexts between objects
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.from(`${PREFIX}${this.current}:`), nonce, body, cipher.getAuthTag()]);
  }

  /** Plain values (written before encryption was enabled) pass through. */
  decrypt(stored: Uint8Array, key: string): Uint8Array {
    const buf = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
    if (!buf.subarray(0, PREFIX.length).equals(Buffer.from(PREFIX))) return stored;
    const end = buf.indexOf(':', PREFIX.length);
    const name = buf.subarray(PREFIX.length, end).toString();
    const k = this.keys.get(name);
    if (!k) throw new Error(`no encryption key named ${name}`);
    const nonce = buf.subarray(end + 1, end + 13);
    const tag = buf.subarray(buf.length - 16);
    const decipher = createDecipheriv('aes-256-gcm', k, nonce);
    decipher.setAAD(Buffer.from(key));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(buf.subarray(end + 13, buf.length - 16)), decipher.final()]);
  }
}
