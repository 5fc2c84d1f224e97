// A minimal SPDY/3.1 client session: enough to drive containerd's streaming
// server (exec/attach with `streamtype` streams), written from the SPDY/3 draft.
//
// Header compression: SPDY/3 header blocks travel in one zlib stream per
// direction. We send ours as uncompressed "stored" deflate blocks inside that
// stream (valid zlib, no preset dictionary, so the peer needs none), and we
// never need the peer's reply headers, so we skip its blocks undecoded.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';

const VERSION = 3;
export const FLAG_FIN = 0x01;
const enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}
/** RST_STREAM status codes we send. */
export const RST_CANCEL = 5;
const RST_REFUSED_STREAM = 3;
/** Largest DATA payload we send in one frame (the field allows 16 MiB). */
const MAX_DATA = 32 * 1024;

/** The uncompressed SPDY/3 name/value block: int32 counts and lengths. */
export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(headers);
  parts.push(u32(entries.length));
  for (const [k, v] of entries) {
    const name = Buffer.from(k.toLowerCase());
    const value = Buffer.from(v);
    parts.push(u32(name.length), name, u32(value.length), value);
  }
  return Buffer.concat(parts);
}

/** Decodes an uncompressed name/value block (used by tests and by our own framing checks). */
export function decodeHeaderBlock(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 4;
  const n = b.readUInt32BE(0);
  for (let i = 0; i < n; i++) {
    const nl = b.readUInt32BE(off);
    const name = b.subarray(off + 4, off + 4 + nl).toString();
    off += 4 + nl;
    const vl = b.readUInt32BE(off);
    out[name] = b.subarray(off + 4, off + 4 + vl).toString();
    off += 4 + vl;
  }
  return out;
}

/**
 * Wraps bytes as non-final stored deflate blocks (BFINAL=0, BTYPE=00), each at
 * most 65535 bytes, then an empty stored block: like zlib's Z_SYNC_FLUSH
 * marker, it makes inflaters (Go's among them) hand out everything so far
 * without reading into the next frame.
 */
export function storedDeflateBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const block = (chunk: Buffer) => {
    const h = Buffer.alloc(5);
    h[0] = 0x00;
    h.writeUInt16LE(chunk.length, 1);
    h.writeUInt16LE(~chunk.length & 0xffff, 3);
    parts.push(h, chunk);
  };
  for (let off = 0; off < data.length; off += 0xffff) block(data.subarray(off, off + 0xffff));
  block(Buffer.alloc(0));
  return Buffer.concat(parts);
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  return Buffer.concat([h, data]);
}

export interface ParsedFrame {
  control: boolean;
  type: number; // control frames
  streamId: number; // data frames, and control frames that carry one
  flags: number;
  payload: Buffer;
}

/** Splits a byte stream into frames; call push() with each chunk. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: ParsedFrame) => void) {}
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    // bounded: each pass consumes one complete frame or stops
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const flags = this.buf[4]!;
      const control = (this.buf[0]! & 0x80) !== 0;
      const payload = this.buf.subarray(8, 8 + len);
      const type = control ? this.buf.readUInt16BE(2) : 0;
      let streamId = control ? 0 : this.buf.readUInt32BE(0) & 0x7fffffff;
      if (control && [FrameType.SynStream, FrameType.SynReply, FrameType.RstStream, FrameType.Headers, FrameType.WindowUpdate].includes(type) && len >= 4) {
        streamId = payload.readUInt32BE(0) & 0x7fffffff;
      }
      this.buf = this.buf.subarray(8 + len);
      this.onFrame({ control, type, streamId, flags, payload });
    }
  }
}

/** One client-initiated SPDY stream. Emits 'data' (Buffer), 'end' (peer half-closed), 'reset'. */
export class SpdyStream extends EventEmitter {
  remoteClosed = false;
  localClosed = false;
  constructor(private readonly session: SpdyClientSession, readonly id: number, readonly headers: Record<string, string>) {
    super();
  }
  write(data: Buffer): boolean {
    if (this.localClosed) return false;
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_DATA) ok = this.session.writeRaw(dataFrame(this.id, 0, data.subarray(off, off + MAX_DATA)));
    return ok;
  }
  /** Half-closes our side (stdin EOF). */
  end(): void {
    if (this.localClosed) return;
    this.localClosed = true;
    this.session.writeRaw(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
  }
  reset(status = RST_CANCEL): void {
    if (this.localClosed && this.remoteClosed) return;
    this.localClosed = this.remoteClosed = true;
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.id);
    p.writeUInt32BE(status, 4);
    this.session.writeRaw(controlFrame(FrameType.RstStream, 0, p));
  }
  /** @internal */
  remoteEnd(): void {
    if (this.remoteClosed) return;
    this.remoteClosed = true;
    this.emit('end');
  }
}

/**
 * The client end of a SPDY/3.1 session over an already upgraded socket.
 * Emits 'close' once the socket is gone (after every stream got 'end').
 */
export class SpdyClientSession extends EventEmitter {
  private nextId = 1;
  private sentHeaderPrefix = false;
  private readonly streams = new Map<number, SpdyStream>();
  private closed = false;
  private readonly reader: FrameReader;

  constructor(readonly socket: Duplex) {
    super();
    this.reader = new FrameReader((f) => this.onFrame(f));
    socket.on('data', (c: Buffer) => this.reader.push(c));
    const done = () => this.finish();
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', (e) => {
      this.emit('socketError', e);
      done();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  writeRaw(b: Buffer): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(b);
  }

  /** Opens a stream whose SYN_STREAM carries `headers` (names are lower-cased). */
  createStream(headers: Record<string, string>, opts: { fin?: boolean } = {}): SpdyStream {
    if (this.closed) throw new Error('SPDY session is closed');
    const id = this.nextId;
    this.nextId += 2;
    const block = encodeHeaderBlock(headers);
    // the first header block opens the zlib stream: CMF 0x78, FLG 0x01 (no dictionary)
    let z = storedDeflateBlocks(block);
    if (!this.sentHeaderPrefix) {
      z = Buffer.concat([Buffer.from([0x78, 0x01]), z]);
      this.sentHeaderPrefix = true;
    }
    const p = Buffer.alloc(10);
    p.writeUInt32BE(id & 0x7fffffff, 0);
    p.writeUInt32BE(0, 4); // associated stream
    p.writeUInt16BE(0, 8); // priority, slot
    const s = new SpdyStream(this, id, headers);
    if (opts.fin) s.localClosed = true;
    this.streams.set(id, s);
    this.writeRaw(controlFrame(FrameType.SynStream, opts.fin ? FLAG_FIN : 0, Buffer.concat([p, z])));
    return s;
  }

  private onFrame(f: ParsedFrame): void {
    if (!f.control) {
      const s = this.streams.get(f.streamId);
      if (!s) return;
      if (f.payload.length) s.emit('data', Buffer.from(f.payload));
      if (f.flags & FLAG_FIN) s.remoteEnd();
      return;
    }
    switch (f.type) {
      case FrameType.SynReply:
      case FrameType.Headers: {
        const s = this.streams.get(f.streamId);
        if (s && f.flags & FLAG_FIN) s.remoteEnd();
        return;
      }
      case FrameType.RstStream: {
        const s = this.streams.get(f.streamId);
        if (s) {
          s.localClosed = true;
          s.emit('reset', f.payload.length >= 8 ? f.payload.readUInt32BE(4) : 0);
          s.remoteEnd();
        }
        return;
      }
      case FrameType.Ping: {
        // peers' pings carry even ids: answer with the same frame
        if (f.payload.length >= 4 && f.payload.readUInt32BE(0) % 2 === 0) this.writeRaw(controlFrame(FrameType.Ping, 0, f.payload));
        return;
      }
      case FrameType.SynStream: {
        // we accept no server-pushed streams
        const p = Buffer.alloc(8);
        p.writeUInt32BE(f.streamId);
        p.writeUInt32BE(RST_REFUSED_STREAM, 4);
        this.writeRaw(controlFrame(FrameType.RstStream, 0, p));
        return;
      }
      case FrameType.GoAway:
        this.emit('goaway');
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE: nothing to do for our short sessions
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.remoteEnd();
    this.emit('close');
  }

  /** Sends GOAWAY and closes the socket. */
  close(): void {
    if (!this.closed && !this.socket.destroyed) {
      const p = Buffer.alloc(8);
      p.writeUInt32BE(Math.max(0, this.nextId - 2), 0);
      this.socket.write(controlFrame(FrameType.GoAway, 0, p));
      this.socket.end();
    }
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
