// A small streaming tar reader (ustar, PAX and GNU long names) and a
// deterministic tar writer (mtime 0, root owner), enough for image archives
// and image layers.
import { createReadStream } from 'node:fs';

export type TarType = 'file' | 'dir' | 'symlink' | 'link' | 'other';

export interface TarHeader {
  name: string;
  type: TarType;
  size: number;
  mode: number;
  linkname: string;
}

const truncated = () => new Error('truncated tar archive');

class ChunkReader {
  private bufs: Buffer[] = [];
  private len = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async more(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    if (b.length) {
      this.bufs.push(b);
      this.len += b.length;
    }
    return true;
  }

  private consume(n: number): Buffer {
    const out: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const b = this.bufs[0];
      if (b.length <= need) {
        out.push(b);
        this.bufs.shift();
        need -= b.length;
      } else {
        out.push(b.subarray(0, need));
        this.bufs[0] = b.subarray(need);
        need = 0;
      }
    }
    this.len -= n;
    return out.length === 1 ? out[0] : Buffer.concat(out, n);
  }

  /** Exactly n bytes, or undefined at a clean end of input. */
  async take(n: number): Promise<Buffer | undefined> {
    while (this.len < n) {
      if (!(await this.more())) {
        if (this.len === 0) return undefined;
        throw truncated();
      }
    }
    return this.consume(n);
  }

  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.len === 0 && !(await this.more())) throw truncated();
      if (this.len === 0) continue;
      const c = this.consume(Math.min(left, this.bufs[0].length));
      left -= c.length;
      yield c;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n));
  }
}

function cstr(b: Buffer, start: number, len: number): string {
  const s = b.subarray(start, start + len);
  const z = s.indexOf(0);
  return (z >= 0 ? s.subarray(0, z) : s).toString('utf8');
}

function octal(b: Buffer, start: number, len: number): number {
  // GNU base-256 for values that do not fit in octal
  if (b[start] & 0x80) {
    let v = b[start] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[start + i];
    return v;
  }
  const s = cstr(b, start, len).trim();
  return s ? parseInt(s, 8) : 0;
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number(data.subarray(i, sp).toString());
    if (!len) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/**
 * Reads a tar stream, calling onEntry for each member. onEntry may consume the
 * body (it must consume all of it, or none: the rest is skipped).
 */
export async function readTar(src: AsyncIterable<Buffer>, onEntry: (h: TarHeader, body: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  const r = new ChunkReader(src[Symbol.asyncIterator]());
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  for (let guard = 0; guard < 10_000_000; guard++) {
    const h = await r.take(512);
    if (!h) return;
    if (h.every((x) => x === 0)) return;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== octal(h, 148, 8)) throw new Error('not a tar archive (bad header checksum)');
    const flag = String.fromCharCode(h[156] || 0x30);
    let size = octal(h, 124, 12);
    const padded = Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      const data = (await r.take(padded)) ?? Buffer.alloc(0);
      const body = data.subarray(0, size);
      if (flag === 'x') pax = parsePax(body);
      else if (flag === 'L') longName = cstr(body, 0, body.length);
      else if (flag === 'K') longLink = cstr(body, 0, body.length);
      continue;
    }
    let name = cstr(h, 0, 100);
    if (h.subarray(257, 262).toString() === 'ustar') {
      const prefix = cstr(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    name = pax.path ?? longName ?? name;
    const linkname = pax.linkpath ?? longLink ?? cstr(h, 157, 100);
    if (pax.size) size = Number(pax.size);
    pax = {};
    longName = longLink = undefined;
    const type: TarType = flag === '0' || flag === '7' ? 'file' : flag === '5' ? 'dir' : flag === '2' ? 'symlink' : flag === '1' ? 'link' : 'other';
    const dataLen = type === 'file' || type === 'other' ? size : 0;
    let consumed = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        consumed = true;
        return r.stream(dataLen);
      },
    };
    await onEntry({ name: normalizeName(name), type, size: dataLen, mode: octal(h, 100, 8), linkname }, body);
    if (!consumed) await r.skip(dataLen);
    const pad = Math.ceil(dataLen / 512) * 512 - dataLen;
    if (pad) await r.skip(pad);
  }
}

/** "./a/b/" → "a/b" */
export function normalizeName(n: string): string {
  return n.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
}

// ---- writer ----

export interface TarEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink';
  mode?: number;
  /** file contents in memory ... */
  data?: Buffer;
  /** ... or a file on disk with its size */
  path?: string;
  size?: number;
  linkname?: string;
}

function writeOctal(b: Buffer, value: number, start: number, len: number): void {
  b.write(value.toString(8).padStart(len - 1, '0') + '\0', start, len, 'ascii');
}

function header(name: string, type: string, mode: number, size: number, linkname: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  writeOctal(h, mode, 100, 8);
  writeOctal(h, 0, 108, 8);
  writeOctal(h, 0, 116, 8);
  writeOctal(h, size, 124, 12);
  writeOctal(h, 0, 136, 12);
  h.fill(32, 148, 156);
  h.write(type, 156, 1, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

/** Tar bytes for entries, streamed (files on disk are read as they go). */
export async function* packTar(entries: Iterable<TarEntry>): AsyncGenerator<Buffer> {
  for (const e of entries) {
    const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
    const size = e.type === 'file' ? (e.data ? e.data.length : (e.size ?? 0)) : 0;
    const linkname = e.linkname ?? '';
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(linkname) > 100 || size >= 8 ** 11) {
      let recs = '';
      if (Buffer.byteLength(name) > 100) recs += paxRecord('path', name);
      if (Buffer.byteLength(linkname) > 100) recs += paxRecord('linkpath', linkname);
      if (size >= 8 ** 11) recs += paxRecord('size', String(size));
      const data = Buffer.from(recs);
      yield header('PaxHeader', 'x', 0o644, data.length, '');
      yield data;
      yield pad(data.length);
    }
    const type = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
    yield header(name.slice(0, 100), type, e.mode ?? (e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644), size >= 8 ** 11 ? 0 : size, linkname.slice(0, 100));
    if (e.type !== 'file') continue;
    if (e.data) yield e.data;
    else if (e.path) {
      let n = 0;
      for await (const c of createReadStream(e.path) as AsyncIterable<Buffer>) {
        n += c.length;
        yield c;
      }
      if (n !== size) throw new Error(`${e.path} changed size while archiving`);
    }
    yield pad(size);
  }
  yield Buffer.alloc(1024);
}

/** The whole archive in memory (for small archives such as test image layers). */
export async function tarBuffer(entries: Iterable<TarEntry>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of packTar(entries)) out.push(c);
  return Buffer.concat(out);
}
