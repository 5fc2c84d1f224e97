// Content-addressed storage for the registry, on plain files:
//   blobs/sha256/<hex>                                     layers, configs and manifests
//   repositories/<name>/_manifests/revisions/sha256/<hex>  manifest in this repo (holds its media type)
//   repositories/<name>/_manifests/tags/<tag>              "sha256:<hex>"
//   uploads/<id>                                           blob uploads in progress
// Every file is written to a temp file and renamed into place, so readers (and a
// crash) see either nothing or the whole file. Blobs are hashed while they stream.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { indexTypes, isSha256Digest, isValidName, isValidTag, manifestTypes, MediaTypes, regErr, RegistryError } from './types.js';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

interface Upload {
  id: string;
  repo: string;
  path: string;
  hash: Hash;
  size: number;
  busy: boolean;
  touched: number;
}

const MAX_MANIFEST = 4 * 1024 * 1024;
const UPLOAD_IDLE_MS = 60 * 60 * 1000;
const CACHE_MAX = 2048;

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Writes a small file atomically and durably (temp + fsync + rename). */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export class RegistryStorage {
  private readonly uploads = new Map<string, Upload>();
  private readonly cache = new Map<string, StoredManifest>();
  private readonly blobDir: string;
  private readonly uploadDir: string;
  private readonly repoDir: string;

  /** `owner` is set by the serving process: it alone clears leftover uploads. */
  constructor(
    readonly root: string,
    opts: { owner?: boolean } = {},
  ) {
    this.blobDir = join(root, 'blobs', 'sha256');
    this.uploadDir = join(root, 'uploads');
    this.repoDir = join(root, 'repositories');
    if (opts.owner) rmSync(this.uploadDir, { recursive: true, force: true });
    for (const d of [this.blobDir, this.uploadDir, this.repoDir]) mkdirSync(d, { recursive: true });
  }

  // ---- blobs ----

  blobPath(digest: string): string {
    if (!isSha256Digest(digest)) throw regErr.digestInvalid('unsupported or malformed digest', digest);
    return join(this.blobDir, digest.slice(7));
  }

  statBlob(digest: string): { size: number; path: string } | undefined {
    if (!isSha256Digest(digest)) return undefined;
    const path = join(this.blobDir, digest.slice(7));
    const st = statSync(path, { throwIfNoEntry: false });
    return st?.isFile() ? { size: st.size, path } : undefined;
  }

  readBlob(digest: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.blobPath(digest), range);
  }

  /** A path for a temp file on the same file system as the blobs (so rename works). */
  tempPath(): string {
    return join(this.uploadDir, `tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
  }

  /** Moves a fully written temp file whose digest the caller has checked into the store. */
  async commitFile(tmp: string, digest: string): Promise<void> {
    const dest = this.blobPath(digest);
    if (existsSync(dest)) {
      await unlink(tmp).catch(() => undefined);
      return;
    }
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dest);
  }

  /** Streams a blob into the store, verifying `expected` if given. Returns its digest and size. */
  async putBlob(src: AsyncIterable<Buffer> | Readable, expected?: string): Promise<{ digest: string; size: number }> {
    if (expected !== undefined && !isSha256Digest(expected)) throw regErr.digestInvalid('unsupported or malformed digest', expected);
    const tmp = this.tempPath();
    const hash = createHash('sha256');
    try {
      const size = await appendStream(tmp, src, hash);
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected !== undefined && digest !== expected) throw regErr.digestInvalid(`content digest ${digest} does not match ${expected}`, expected);
      await this.commitFile(tmp, digest);
      return { digest, size };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  putBlobBytes(data: Buffer): string {
    const digest = sha256(data);
    const dest = this.blobPath(digest);
    if (!existsSync(dest)) writeFileAtomic(dest, data);
    return digest;
  }

  // ---- uploads (sessions live in memory; a restart forgets them, as clients expect) ----

  startUpload(repo: string): Upload {
    this.expireUploads();
    const id = randomBytes(16).toString('hex');
    const path = join(this.uploadDir, id);
    closeSync(openSync(path, 'w'));
    const u: Upload = { id, repo, path, hash: createHash('sha256'), size: 0, busy: false, touched: Date.now() };
    this.uploads.set(id, u);
    return u;
  }

  getUpload(repo: string, id: string): Upload {
    const u = this.uploads.get(id);
    if (!u || u.repo !== repo) throw regErr.uploadUnknown(id);
    return u;
  }

  /** Appends a chunk; `start` (from Content-Range) must equal the bytes received so far. */
  async appendUpload(u: Upload, src: AsyncIterable<Buffer> | Readable, start?: number): Promise<void> {
    if (u.busy) throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', 'another request is writing this upload', undefined, rangeHeaders(u));
    if (start !== undefined && start !== u.size) throw new RegistryError(416, 'RANGE_INVALID', `chunk starts at ${start}, upload has ${u.size} bytes`, undefined, rangeHeaders(u));
    u.busy = true;
    try {
      u.size += await appendStream(u.path, src, u.hash);
    } catch (e) {
      // the file and hash no longer agree: the upload cannot continue
      this.cancelUpload(u);
      throw e;
    } finally {
      u.busy = false;
      u.touched = Date.now();
    }
  }

  async finishUpload(u: Upload, expected: string): Promise<{ digest: string; size: number }> {
    this.uploads.delete(u.id);
    const digest = `sha256:${u.hash.digest('hex')}`;
    if (digest !== expected) {
      await rm(u.path, { force: true });
      throw regErr.digestInvalid(`content digest ${digest} does not match ${expected}`, expected);
    }
    await this.commitFile(u.path, digest);
    return { digest, size: u.size };
  }

  cancelUpload(u: Upload): void {
    this.uploads.delete(u.id);
    rmSync(u.path, { force: true });
  }

  private expireUploads(): void {
    const cutoff = Date.now() - UPLOAD_IDLE_MS;
    for (const u of this.uploads.values()) if (!u.busy && u.touched < cutoff) this.cancelUpload(u);
  }

  // ---- manifests and tags ----

  private manifestsDir(repo: string): string {
    if (!isValidName(repo)) throw regErr.nameInvalid(repo);
    return join(this.repoDir, repo, '_manifests');
  }

  hasRepo(repo: string): boolean {
    return existsSync(this.manifestsDir(repo));
  }

  /** Tag or digest → digest, if this repository has it. */
  resolve(repo: string, ref: string): string | undefined {
    const dir = this.manifestsDir(repo);
    if (ref.includes(':')) {
      if (!isSha256Digest(ref)) return undefined;
      return existsSync(join(dir, 'revisions', 'sha256', ref.slice(7))) ? ref : undefined;
    }
    if (!isValidTag(ref)) throw regErr.tagInvalid(ref);
    try {
      return readFileSync(join(dir, 'tags', ref), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  getManifest(repo: string, ref: string): StoredManifest | undefined {
    const digest = this.resolve(repo, ref);
    if (!digest) return undefined;
    const key = `${repo}@${digest}`;
    const hit = this.cache.get(key);
    // the revision file is the truth (another process may have deleted it)
    if (hit && (!ref.includes(':') || existsSync(join(this.manifestsDir(repo), 'revisions', 'sha256', digest.slice(7))))) return hit;
    let mediaType: string;
    let bytes: Buffer;
    try {
      mediaType = readFileSync(join(this.manifestsDir(repo), 'revisions', 'sha256', digest.slice(7)), 'utf8').trim();
      bytes = readFileSync(this.blobPath(digest));
    } catch {
      return undefined;
    }
    const m = { digest, mediaType, bytes };
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, m);
    return m;
  }

  /**
   * Validates and stores a manifest under a tag or its digest. The media type comes
   * from the request's Content-Type, else from the document itself.
   */
  putManifest(repo: string, ref: string, contentType: string | undefined, bytes: Buffer): StoredManifest {
    const dir = this.manifestsDir(repo);
    const byDigest = ref.includes(':');
    if (!byDigest && !isValidTag(ref)) throw regErr.tagInvalid(ref);
    if (bytes.length > MAX_MANIFEST) throw regErr.sizeInvalid(`manifest larger than ${MAX_MANIFEST} bytes`, 413);
    const digest = sha256(bytes);
    if (byDigest && digest !== ref) throw regErr.digestInvalid(`manifest digest ${digest} does not match ${ref}`, ref);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw regErr.manifestInvalid('manifest is not valid JSON');
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw regErr.manifestInvalid('manifest is not a JSON object');
    if (doc.schemaVersion !== 2) throw regErr.manifestInvalid(`schemaVersion ${JSON.stringify(doc.schemaVersion)} is not supported (want 2)`);
    const ct = contentType?.split(';')[0].trim();
    const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
    let mediaType = ct && ct !== 'application/json' && ct !== 'application/octet-stream' ? ct : (declared ?? (Array.isArray(doc.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest));
    if (declared && declared !== mediaType) {
      if (manifestTypes.has(mediaType)) throw regErr.manifestInvalid(`Content-Type ${mediaType} does not match the manifest's mediaType ${declared}`);
      mediaType = declared;
    }
    if (indexTypes.has(mediaType) || Array.isArray(doc.manifests)) {
      if (!Array.isArray(doc.manifests)) throw regErr.manifestInvalid('an index needs a manifests list');
      for (const d of doc.manifests) checkDescriptor(d);
    } else {
      checkDescriptor(doc.config);
      if (!Array.isArray(doc.layers)) throw regErr.manifestInvalid('a manifest needs a layers list');
      for (const d of [doc.config, ...doc.layers] as { digest: string }[]) {
        checkDescriptor(d);
        if (!this.statBlob(d.digest)) throw regErr.manifestBlobUnknown(d.digest);
      }
    }
    const revDir = join(dir, 'revisions', 'sha256');
    mkdirSync(revDir, { recursive: true });
    mkdirSync(join(dir, 'tags'), { recursive: true });
    this.putBlobBytes(bytes);
    writeFileAtomic(join(revDir, digest.slice(7)), mediaType);
    if (!byDigest) writeFileAtomic(join(dir, 'tags', ref), digest);
    const m = { digest, mediaType, bytes };
    this.cache.set(`${repo}@${digest}`, m);
    return m;
  }

  /** Deletes a tag, or a manifest by digest (with the tags that point at it). */
  deleteManifest(repo: string, ref: string): boolean {
    const dir = this.manifestsDir(repo);
    const digest = this.resolve(repo, ref);
    if (!digest) return false;
    if (!ref.includes(':')) {
      rmSync(join(dir, 'tags', ref), { force: true });
      return true;
    }
    this.cache.delete(`${repo}@${digest}`);
    for (const t of this.tags(repo) ?? []) if (this.resolve(repo, t) === digest) rmSync(join(dir, 'tags', t), { force: true });
    rmSync(join(dir, 'revisions', 'sha256', digest.slice(7)), { force: true });
    return true;
  }

  tags(repo: string): string[] | undefined {
    const dir = this.manifestsDir(repo);
    if (!existsSync(dir)) return undefined;
    try {
      return readdirSync(join(dir, 'tags'))
        .filter((t) => isValidTag(t))
        .sort();
    } catch {
      return [];
    }
  }

  /** All repository names, sorted (a repository is a folder holding `_manifests`). */
  repositories(): string[] {
    const out: string[] = [];
    const walk = (dir: string, prefix: string, depth: number) => {
      if (depth > 32) return;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === '_manifests') out.push(prefix);
        else walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name, depth + 1);
      }
    };
    walk(this.repoDir, '', 0);
    return out.filter(Boolean).sort();
  }
}

function checkDescriptor(d: unknown): void {
  const x = d as { digest?: unknown; size?: unknown; mediaType?: unknown } | null;
  if (!x || typeof x !== 'object') throw regErr.manifestInvalid('missing descriptor');
  if (typeof x.digest !== 'string' || !isSha256Digest(x.digest)) throw regErr.manifestInvalid(`descriptor digest ${JSON.stringify(x.digest)} is not a sha256 digest`);
  if (typeof x.size !== 'number' || x.size < 0) throw regErr.manifestInvalid(`descriptor ${x.digest} has no valid size`);
}

function rangeHeaders(u: Upload): Record<string, string> {
  return { Range: `0-${Math.max(0, u.size - 1)}`, 'Docker-Upload-UUID': u.id };
}

async function appendStream(path: string, src: AsyncIterable<Buffer> | Readable, hash: Hash): Promise<number> {
  let n = 0;
  await pipeline(
    src,
    async function* (s: AsyncIterable<Buffer>) {
      for await (const c of s) {
        hash.update(c);
        n += c.length;
        yield c;
      }
    },
    createWriteStream(path, { flags: 'a' }),
  );
  return n;
}
