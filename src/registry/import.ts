// `k8ts image import`: loads an OCI image layout (a folder, or a tar of one) or a
// `docker save` archive and stores it in a registry: straight into a local
// registry's files, or over HTTP to any registry that speaks the distribution API.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { RegistryStorage, sha256 } from './storage.js';
import { readTar } from './tar.js';
import { indexTypes, isSha256Digest, MediaTypes, parseReference } from './types.js';

export interface ImportedImage {
  name: string;
  tag: string;
  digest: string;
  mediaType: string;
  blobs: number;
  bytes: number;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string };
}

/** Where imported content goes. */
export interface ImageSink {
  readonly where: string;
  hasBlob(repo: string, digest: string): Promise<boolean>;
  /** `temp` files may be moved away; others are copied */
  putBlob(repo: string, digest: string, file: SourceFile): Promise<void>;
  putManifest(repo: string, ref: string, mediaType: string, bytes: Buffer): Promise<string>;
  /** a folder for staging files (same file system as the store when local) */
  stagingDir(): string;
  close(): void;
}

interface SourceFile {
  path: string;
  size: number;
  /** computed while extracting; undefined for files read in place */
  digest?: string;
  temp: boolean;
}

export class LocalSink implements ImageSink {
  readonly storage: RegistryStorage;
  constructor(readonly root: string) {
    this.storage = new RegistryStorage(root);
  }
  get where(): string {
    return this.root;
  }
  async hasBlob(_repo: string, digest: string): Promise<boolean> {
    return this.storage.statBlob(digest) !== undefined;
  }
  async putBlob(_repo: string, digest: string, f: SourceFile): Promise<void> {
    if (f.temp && f.digest === digest) await this.storage.commitFile(f.path, digest);
    else await this.storage.putBlob(createReadStream(f.path), digest);
  }
  async putManifest(repo: string, ref: string, mediaType: string, bytes: Buffer): Promise<string> {
    return this.storage.putManifest(repo, ref, mediaType, bytes).digest;
  }
  stagingDir(): string {
    const d = this.storage.tempPath();
    mkdirSync(d);
    return d;
  }
  close(): void {}
}

export class HttpSink implements ImageSink {
  private readonly base: URL;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });
  constructor(registry: string) {
    this.base = new URL(/^https?:\/\//.test(registry) ? registry : `http://${registry}`);
    if (this.base.protocol !== 'http:') throw new Error('only plain-HTTP registries are supported by image import');
  }
  get where(): string {
    return this.base.host;
  }
  private req(method: string, url: URL, headers: Record<string, string | number>, body?: Buffer | NodeJS.ReadableStream): Promise<{ res: IncomingMessage; text: string }> {
    return new Promise((resolve, reject) => {
      const r = httpRequest(url, { method, headers, agent: this.agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          if (text.length < 65536) text += d;
        });
        res.on('end', () => resolve({ res, text }));
        res.on('error', reject);
      });
      r.setTimeout(300_000, () => r.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      r.on('error', reject);
      if (!body) r.end();
      else if (Buffer.isBuffer(body)) r.end(body);
      else pipeline(body, r).catch(reject);
    });
  }
  private expect(what: string, r: { res: IncomingMessage; text: string }, ...ok: number[]): void {
    if (!ok.includes(r.res.statusCode ?? 0)) throw new Error(`${what}: registry answered ${r.res.statusCode} ${r.text.slice(0, 500)}`);
  }
  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const r = await this.req('HEAD', new URL(`/v2/${repo}/blobs/${digest}`, this.base), {});
    return r.res.statusCode === 200;
  }
  async putBlob(repo: string, digest: string, f: SourceFile): Promise<void> {
    const start = await this.req('POST', new URL(`/v2/${repo}/blobs/uploads/`, this.base), { 'Content-Length': 0 });
    this.expect(`start upload of ${digest}`, start, 202);
    const loc = new URL(String(start.res.headers.location ?? ''), this.base);
    loc.searchParams.set('digest', digest);
    const put = await this.req('PUT', loc, { 'Content-Type': 'application/octet-stream', 'Content-Length': f.size }, createReadStream(f.path));
    this.expect(`upload of ${digest}`, put, 201);
  }
  async putManifest(repo: string, ref: string, mediaType: string, bytes: Buffer): Promise<string> {
    const r = await this.req('PUT', new URL(`/v2/${repo}/manifests/${ref}`, this.base), { 'Content-Type': mediaType, 'Content-Length': bytes.length }, bytes);
    this.expect(`manifest ${repo}:${ref}`, r, 201);
    return String(r.res.headers['docker-content-digest'] ?? sha256(bytes));
  }
  stagingDir(): string {
    return mkdtempSync(join(tmpdir(), 'k8ts-import-'));
  }
  close(): void {
    this.agent.destroy();
  }
}

/** The files of an archive or folder, by normalized path. */
interface Source {
  file(name: string): SourceFile | undefined;
  read(name: string): Buffer | undefined;
}

function dirSource(dir: string): Source {
  const file = (name: string): SourceFile | undefined => {
    const path = join(dir, ...name.split('/'));
    const st = statSync(path, { throwIfNoEntry: false });
    return st?.isFile() ? { path, size: st.size, temp: false } : undefined;
  };
  return { file, read: (name) => (file(name) ? readFileSync(join(dir, ...name.split('/'))) : undefined) };
}

/** Extracts every regular file of a (possibly gzipped) tar into `staging`, hashing as it goes. */
async function tarSource(archive: string, staging: string): Promise<Source> {
  const files = new Map<string, SourceFile>();
  const links = new Map<string, string>();
  const input = createReadStream(archive);
  const src = isGzip(archive) ? input.pipe(createGunzip()) : input;
  let n = 0;
  await readTar(src as AsyncIterable<Buffer>, async (h, body) => {
    if (h.type === 'symlink' || h.type === 'link') {
      // docker save links repeated layers; resolve after the walk
      links.set(h.name, h.type === 'symlink' ? posix.normalize(posix.join(posix.dirname(h.name), h.linkname)) : posix.normalize(h.linkname));
      return;
    }
    if (h.type !== 'file') return;
    const path = join(staging, String(n++));
    const hash = createHash('sha256');
    await pipeline(
      body,
      async function* (s: AsyncIterable<Buffer>) {
        for await (const c of s) {
          hash.update(c);
          yield c;
        }
      },
      createWriteStream(path),
    );
    files.set(h.name, { path, size: h.size, digest: `sha256:${hash.digest('hex')}`, temp: true });
  });
  for (let round = 0; round < 8; round++) for (const [name, target] of links) if (!files.has(name) && files.has(target)) files.set(name, { ...files.get(target)!, temp: false });
  return { file: (name) => files.get(name), read: (name) => (files.has(name) ? readFileSync(files.get(name)!.path) : undefined) };
}

function magic(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const isGzip = (path: string) => {
  const m = magic(path, 2);
  return m[0] === 0x1f && m[1] === 0x8b;
};

function layerMediaType(path: string): string {
  const m = magic(path, 4);
  if (m[0] === 0x1f && m[1] === 0x8b) return MediaTypes.ociLayerGzip;
  if (m.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'application/vnd.oci.image.layer.v1.tar+zstd';
  return MediaTypes.ociLayer;
}

/** repo:tag from a reference found in an archive, ignoring its registry host. */
function nameTag(ref: string): { name: string; tag: string } {
  const p = parseReference(ref);
  return { name: p.name, tag: p.tag ?? 'latest' };
}

export interface ImportOptions {
  file: string;
  sink: ImageSink;
  /** NAME[:TAG] for the image (required when the archive names none) */
  name?: string;
}

export async function importImage(o: ImportOptions): Promise<ImportedImage[]> {
  const st = statSync(o.file, { throwIfNoEntry: false });
  if (!st) throw new Error(`${o.file}: no such file`);
  const staging = st.isDirectory() ? undefined : o.sink.stagingDir();
  try {
    const src = staging ? await tarSource(o.file, staging) : dirSource(o.file);
    if (src.file('index.json')) return await importOciLayout(src, o);
    if (src.file('manifest.json')) return await importDockerArchive(src, o);
    throw new Error(`${o.file}: neither an OCI image layout (index.json) nor a docker archive (manifest.json)`);
  } finally {
    if (staging) rmSync(staging, { recursive: true, force: true });
  }
}

function blobName(digest: string): string {
  if (!isSha256Digest(digest)) throw new Error(`unsupported digest ${digest}`);
  return `blobs/sha256/${digest.slice(7)}`;
}

async function pushBlob(src: Source, sink: ImageSink, repo: string, d: { digest: string; size?: number }, stats: { blobs: number; bytes: number }): Promise<void> {
  if (await sink.hasBlob(repo, d.digest)) return;
  const f = src.file(blobName(d.digest));
  if (!f) throw new Error(`the archive lacks blob ${d.digest}`);
  if (f.digest && f.digest !== d.digest) throw new Error(`blob ${d.digest} in the archive is corrupt (its content hashes to ${f.digest})`);
  await sink.putBlob(repo, d.digest, f);
  stats.blobs++;
  stats.bytes += f.size;
}

async function importOciLayout(src: Source, o: ImportOptions): Promise<ImportedImage[]> {
  const index = JSON.parse(src.read('index.json')!.toString('utf8')) as { manifests?: Descriptor[] };
  const descs = index.manifests ?? [];
  if (!descs.length) throw new Error('index.json lists no images');
  const forced = o.name ? parseReference(o.name) : undefined;
  const out: ImportedImage[] = [];
  for (const desc of descs) {
    const ann = desc.annotations ?? {};
    let target: { name: string; tag: string };
    const refName = ann['io.containerd.image.name'] ?? ann['org.opencontainers.image.ref.name'];
    if (forced) {
      // with several images, each keeps its own tag under the given name
      const ownTag = refName && !refName.includes('/') && !refName.includes(':') ? refName : refName ? nameTag(refName).tag : undefined;
      target = { name: forced.name, tag: forced.tag ?? (descs.length > 1 ? (ownTag ?? 'latest') : 'latest') };
    } else if (refName && (refName.includes('/') || refName.includes(':'))) target = nameTag(refName);
    else throw new Error(`the image${refName ? ` tagged ${JSON.stringify(refName)}` : ''} has no repository name: pass --name NAME:TAG`);
    const stats = { blobs: 0, bytes: 0 };
    const { digest, mediaType } = await pushManifestTree(src, o.sink, target.name, desc, target.tag, stats, 0);
    out.push({ ...target, digest, mediaType, ...stats });
  }
  return out;
}

async function pushManifestTree(src: Source, sink: ImageSink, repo: string, desc: Descriptor, tag: string | undefined, stats: { blobs: number; bytes: number }, depth: number): Promise<{ digest: string; mediaType: string }> {
  if (depth > 4) throw new Error('image index nests too deeply');
  const bytes = src.read(blobName(desc.digest));
  if (!bytes) throw new Error(`the archive lacks manifest ${desc.digest}`);
  if (sha256(bytes) !== desc.digest) throw new Error(`manifest ${desc.digest} in the archive is corrupt`);
  const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
  const mediaType = doc.mediaType ?? desc.mediaType ?? (doc.manifests ? MediaTypes.ociIndex : MediaTypes.ociManifest);
  if (indexTypes.has(mediaType) || doc.manifests) {
    // children first (by digest); platforms the archive does not carry are left out
    for (const child of doc.manifests ?? []) if (src.file(blobName(child.digest))) await pushManifestTree(src, sink, repo, child, undefined, stats, depth + 1);
  } else {
    if (!doc.config) throw new Error(`manifest ${desc.digest} has no config`);
    for (const d of [doc.config, ...(doc.layers ?? [])]) await pushBlob(src, sink, repo, d, stats);
  }
  stats.blobs++;
  stats.bytes += bytes.length;
  await sink.putManifest(repo, tag ?? desc.digest, mediaType, bytes);
  return { digest: desc.digest, mediaType };
}

async function importDockerArchive(src: Source, o: ImportOptions): Promise<ImportedImage[]> {
  const list = JSON.parse(src.read('manifest.json')!.toString('utf8')) as { Config: string; RepoTags?: string[] | null; Layers: string[] }[];
  if (!Array.isArray(list) || !list.length) throw new Error('manifest.json lists no images');
  if (o.name && list.length > 1) throw new Error(`the archive holds ${list.length} images: --name needs exactly one`);
  const out: ImportedImage[] = [];
  for (const img of list) {
    const targets = o.name ? [nameTag(o.name)] : (img.RepoTags ?? []).map(nameTag);
    if (!targets.length) throw new Error('an image in the archive has no RepoTags: pass --name NAME:TAG');
    const config = src.read(posix.normalize(img.Config));
    if (!config) throw new Error(`the archive lacks ${img.Config}`);
    const layers: { file: SourceFile; desc: Descriptor }[] = [];
    for (const l of img.Layers) {
      const f = src.file(posix.normalize(l));
      if (!f) throw new Error(`the archive lacks layer ${l}`);
      const digest = f.digest ?? (await hashFile(f.path));
      layers.push({ file: f, desc: { mediaType: layerMediaType(f.path), digest, size: f.size } });
    }
    const configDesc = { mediaType: MediaTypes.ociConfig, digest: sha256(config), size: config.length };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config: configDesc, layers: layers.map((l) => l.desc) }));
    for (const t of targets) {
      const stats = { blobs: 0, bytes: 0 };
      if (!(await o.sink.hasBlob(t.name, configDesc.digest))) {
        await o.sink.putBlob(t.name, configDesc.digest, src.file(posix.normalize(img.Config))!);
        stats.blobs++;
        stats.bytes += config.length;
      }
      for (const l of layers) {
        if (await o.sink.hasBlob(t.name, l.desc.digest)) continue;
        await o.sink.putBlob(t.name, l.desc.digest, l.file);
        stats.blobs++;
        stats.bytes += l.file.size;
      }
      const digest = await o.sink.putManifest(t.name, t.tag, MediaTypes.ociManifest, manifest);
      out.push({ ...t, digest, mediaType: MediaTypes.ociManifest, blobs: stats.blobs + 1, bytes: stats.bytes + manifest.length });
    }
  }
  return out;
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path) as AsyncIterable<Buffer>) h.update(c);
  return `sha256:${h.digest('hex')}`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The CLI command's work: import FILE into a local data dir's registry or a remote one. */
export async function runImageImport(o: { file: string; registry?: string; dataDir: string; name?: string; out?: (line: string) => void }): Promise<ImportedImage[]> {
  const sink: ImageSink = o.registry ? new HttpSink(o.registry) : new LocalSink(join(o.dataDir, 'registry'));
  try {
    const imgs = await importImage({ file: o.file, sink, name: o.name });
    for (const i of imgs) o.out?.(`imported ${i.name}:${i.tag} ${i.digest} (${i.blobs} new blobs, ${formatBytes(i.bytes)}) into ${sink.where}\n`);
    return imgs;
  } finally {
    sink.close();
  }
}
