// The OCI distribution API (what containerd, skopeo and docker speak) over plain
// HTTP, on Node's http module. Routes are matched from the right, because
// repository names contain slashes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryStorage } from './storage.js';
import { isSha256Digest, isValidName, looksLikeDigest, regErr, RegistryError } from './types.js';

export interface RegistryLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface RegistryOptions {
  /** folder for the storage (DATA_DIR/registry) */
  root: string;
  port: number;
  host?: string;
  log?: RegistryLogger;
}

const routes: { re: RegExp; kind: 'manifest' | 'upload' | 'blob' | 'tags' }[] = [
  { re: /^\/v2\/(.+)\/manifests\/([^/]+)$/, kind: 'manifest' },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/, kind: 'upload' },
  { re: /^\/v2\/(.+)\/blobs\/([^/]+)$/, kind: 'blob' },
  { re: /^\/v2\/(.+)\/tags\/list$/, kind: 'tags' },
];

export class RegistryServer {
  readonly storage: RegistryStorage;
  private server?: Server;

  constructor(private readonly o: RegistryOptions) {
    this.storage = new RegistryStorage(o.root, { owner: true });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** host:port clients use to reach it */
  get address(): string {
    const h = this.o.host ?? '127.0.0.1';
    const host = h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h;
    return `${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.fail(req, res, e));
    });
    server.keepAliveTimeout = 30_000;
    // big layers stream for a long time: no overall request timeout
    server.requestTimeout = 0;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeIdleConnections();
      setTimeout(() => s.closeAllConnections(), 2000).unref();
    });
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    const err = e instanceof RegistryError ? e : new RegistryError(500, 'UNKNOWN', e instanceof Error ? e.message : String(e));
    if (!(e instanceof RegistryError)) this.o.log?.warn({ err: String(e), method: req.method, url: req.url }, 'registry request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // the rest of an unread request body would be parsed as the next request
    if (!req.complete) res.setHeader('Connection', 'close');
    const body = err.body();
    res.writeHead(err.status, { ...baseHeaders, ...err.headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    if (!req.complete) req.resume();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://registry');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    this.o.log?.debug({ method, path }, 'registry request');
    if (path === '/v2/' || path === '/v2') {
      if (method !== 'GET' && method !== 'HEAD') throw regErr.unsupported(`${method} not allowed`);
      return send(res, 200, {}, '{}', method);
    }
    if (path === '/v2/_catalog') {
      if (method !== 'GET') throw regErr.unsupported(`${method} not allowed`);
      const { items, link } = paginate(this.storage.repositories(), url, '/v2/_catalog');
      return send(res, 200, link ? { Link: link } : {}, JSON.stringify({ repositories: items }), method);
    }
    for (const r of routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      const name = decodeURIComponent(m[1]);
      if (!isValidName(name)) throw regErr.nameInvalid(name);
      const ref = decodeURIComponent(m[2] ?? '');
      switch (r.kind) {
        case 'manifest':
          return this.manifest(req, res, method, name, ref);
        case 'upload':
          return this.upload(req, res, method, name, ref, url);
        case 'blob':
          return this.blob(req, res, method, name, ref);
        case 'tags': {
          if (method !== 'GET') throw regErr.unsupported(`${method} not allowed`);
          const tags = this.storage.tags(name);
          if (!tags) throw regErr.nameUnknown(name);
          const { items, link } = paginate(tags, url, `/v2/${name}/tags/list`);
          return send(res, 200, link ? { Link: link } : {}, JSON.stringify({ name, tags: items }), method);
        }
      }
    }
    throw new RegistryError(404, 'NAME_UNKNOWN', `no route for ${path}`);
  }

  private async manifest(req: IncomingMessage, res: ServerResponse, method: string, name: string, ref: string): Promise<void> {
    if (ref.includes(':') ? !looksLikeDigest(ref) : !/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/.test(ref)) {
      throw ref.includes(':') ? regErr.digestInvalid('malformed digest', ref) : regErr.tagInvalid(ref);
    }
    if (method === 'GET' || method === 'HEAD') {
      const m = this.storage.getManifest(name, ref);
      if (!m) throw regErr.manifestUnknown(ref);
      res.writeHead(200, { ...baseHeaders, 'Content-Type': m.mediaType, 'Content-Length': m.bytes.length, 'Docker-Content-Digest': m.digest, ETag: `"${m.digest}"` });
      res.end(method === 'HEAD' ? undefined : m.bytes);
      return;
    }
    if (method === 'PUT') {
      const body = await readBody(req, 4 * 1024 * 1024 + 1);
      const m = this.storage.putManifest(name, ref, req.headers['content-type'], body);
      return send(res, 201, { Location: `/v2/${name}/manifests/${m.digest}`, 'Docker-Content-Digest': m.digest }, '', method);
    }
    if (method === 'DELETE') {
      if (!this.storage.deleteManifest(name, ref)) throw regErr.manifestUnknown(ref);
      return send(res, 202, {}, '', method);
    }
    throw regErr.unsupported(`${method} not allowed`);
  }

  private async blob(req: IncomingMessage, res: ServerResponse, method: string, _name: string, digest: string): Promise<void> {
    if (method === 'DELETE') throw regErr.unsupported('blob deletion is not supported');
    if (method !== 'GET' && method !== 'HEAD') throw regErr.unsupported(`${method} not allowed`);
    if (!looksLikeDigest(digest)) throw regErr.digestInvalid('malformed digest', digest);
    // blobs are shared by all repositories: content addressing makes that safe
    const st = this.storage.statBlob(digest);
    if (!st) throw regErr.blobUnknown(digest);
    const headers: Record<string, string | number> = { ...baseHeaders, 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest, ETag: `"${digest}"`, 'Accept-Ranges': 'bytes', 'Cache-Control': 'max-age=31536000' };
    const range = parseRange(req.headers.range, st.size);
    if (range === 'invalid') throw new RegistryError(416, 'RANGE_INVALID', 'unsatisfiable range', undefined, { 'Content-Range': `bytes */${st.size}` });
    if (range) {
      res.writeHead(206, { ...headers, 'Content-Length': range.end - range.start + 1, 'Content-Range': `bytes ${range.start}-${range.end}/${st.size}` });
    } else res.writeHead(200, { ...headers, 'Content-Length': st.size });
    if (method === 'HEAD' || st.size === 0) {
      res.end();
      return;
    }
    const stream = this.storage.readBlob(digest, range ?? undefined);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  private async upload(req: IncomingMessage, res: ServerResponse, method: string, name: string, id: string, url: URL): Promise<void> {
    const digest = url.searchParams.get('digest');
    if (method === 'POST') {
      if (id) throw regErr.unsupported('POST goes to /blobs/uploads/');
      const mount = url.searchParams.get('mount');
      if (mount) {
        // one content-addressed store: a blob that exists anywhere can be mounted
        if (isSha256Digest(mount) && this.storage.statBlob(mount)) {
          req.resume();
          return send(res, 201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount }, '', method);
        }
      } else if (digest) {
        // monolithic upload in one POST
        if (!isSha256Digest(digest)) throw regErr.digestInvalid('unsupported or malformed digest', digest);
        const r = await this.storage.putBlob(req, digest);
        return send(res, 201, { Location: `/v2/${name}/blobs/${r.digest}`, 'Docker-Content-Digest': r.digest }, '', method);
      }
      req.resume();
      const u = this.storage.startUpload(name);
      return send(res, 202, uploadHeaders(name, u.id, 0), '', method);
    }
    if (!id) throw regErr.unsupported(`${method} needs an upload id`);
    const u = this.storage.getUpload(name, id);
    if (method === 'GET') return send(res, 204, uploadHeaders(name, u.id, u.size), '', method);
    if (method === 'DELETE') {
      this.storage.cancelUpload(u);
      return send(res, 204, {}, '', method);
    }
    if (method === 'PATCH' || method === 'PUT') {
      if (method === 'PUT') {
        if (!digest) throw regErr.digestInvalid('PUT needs ?digest=');
        if (!isSha256Digest(digest)) throw regErr.digestInvalid('unsupported or malformed digest', digest);
      }
      const start = parseContentRange(req.headers['content-range']);
      const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
      if (hasBody || method === 'PATCH') await this.storage.appendUpload(u, req, start);
      if (method === 'PATCH') return send(res, 202, uploadHeaders(name, u.id, u.size), '', method);
      const r = await this.storage.finishUpload(u, digest!);
      return send(res, 201, { Location: `/v2/${name}/blobs/${r.digest}`, 'Docker-Content-Digest': r.digest }, '', method);
    }
    throw regErr.unsupported(`${method} not allowed`);
  }
}

const baseHeaders = { 'Docker-Distribution-API-Version': 'registry/2.0' };

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string, method: string): void {
  const h: Record<string, string | number> = { ...baseHeaders, ...headers, 'Content-Length': Buffer.byteLength(body) };
  if (body) h['Content-Type'] = 'application/json';
  res.writeHead(status, h);
  res.end(method === 'HEAD' || !body ? undefined : body);
}

function uploadHeaders(name: string, id: string, size: number): Record<string, string> {
  return { Location: `/v2/${name}/blobs/uploads/${id}`, 'Docker-Upload-UUID': id, Range: `0-${Math.max(0, size - 1)}` };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw regErr.sizeInvalid('request body too large', 413);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Content-Range of a chunk: "start-end" (some clients add "bytes "). Returns start. */
function parseContentRange(h: string | undefined): number | undefined {
  if (!h) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(h.trim());
  if (!m) throw new RegistryError(416, 'RANGE_INVALID', `bad Content-Range ${JSON.stringify(h)}`);
  return Number(m[1]);
}

/** A single "bytes=a-b" range; multi-range requests get the whole blob. */
function parseRange(h: string | undefined, size: number): { start: number; end: number } | undefined | 'invalid' {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

/** `?n=&last=` pagination with a Link header to the next page (spec: lexical order). */
function paginate(all: string[], url: URL, path: string): { items: string[]; link?: string } {
  const last = url.searchParams.get('last');
  const nRaw = url.searchParams.get('n');
  let items = last ? all.filter((x) => x > last) : all;
  if (nRaw !== null) {
    const n = Math.max(0, Number(nRaw) || 0);
    if (items.length > n) {
      items = items.slice(0, n);
      const next = items[items.length - 1];
      return { items, link: next !== undefined ? `<${path}?n=${n}&last=${encodeURIComponent(next)}>; rel="next"` : undefined };
    }
  }
  return { items };
}

export async function startRegistry(o: RegistryOptions): Promise<RegistryServer> {
  const r = new RegistryServer(o);
  await r.start();
  return r;
}
