// The DNS wire format (RFC 1035, EDNS0 from RFC 6891), hand-written for the
// server's hot path: reading one query (header, one question, the OPT record)
// without building objects for what a query never carries, and writing a
// response with name compression. Answers reuse the query's question bytes,
// so a response keeps the case the client asked with (RFC 4343).

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, ANY: 255 } as const;
export const CLASS_IN = 1;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export const rcodeName = (rc: number): string => Object.entries(RCODE).find(([, v]) => v === rc)?.[0] ?? String(rc);

/** The UDP payload size we accept and advertise in our OPT record. */
export const EDNS_SIZE = 1232;
export const MAX_UDP = 512;

export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
}

export interface Query {
  id: number;
  rd: boolean;
  /** lowercase, dotted, no trailing dot ('' for the root); a '.' inside a label is written '\.' */
  qname: string;
  /** the question name in wire form, lowercased: a cheap cache key */
  wireKey: string;
  qtype: number;
  qclass: number;
  /** offset just past the question section: bytes [12, questionEnd) are copied into responses */
  questionEnd: number;
  edns?: Edns;
}

/** A query that could not be read far enough to answer it; `drop` when no reply should be sent. */
export interface BadQuery {
  drop: boolean;
  id: number;
  rd: boolean;
  opcode: number;
  rcode: number;
  /** set when the question was readable (it is echoed back) */
  questionEnd?: number;
  edns?: Edns;
}

export const isQuery = (q: Query | BadQuery): q is Query => (q as Query).qname !== undefined;

/** Skip a (possibly compressed) name; returns the offset after it, or -1. */
function skipName(b: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= b.length) return -1;
    const len = b[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2 <= b.length ? off + 2 : -1;
    if (len & 0xc0) return -1; // 0x40/0x80 label types are obsolete
    off += len + 1;
  }
  return -1;
}

/** Read a query. Never throws: malformed input yields FORMERR, other opcodes NOTIMP, responses are dropped. */
export function parseQuery(b: Buffer): Query | BadQuery {
  if (b.length < 12) return { drop: true, id: 0, rd: false, opcode: 0, rcode: RCODE.FORMERR };
  const id = b.readUInt16BE(0);
  const f = b[2];
  const rd = (f & 1) === 1;
  const opcode = (f >> 3) & 15;
  if (f & 0x80) return { drop: true, id, rd, opcode, rcode: RCODE.FORMERR }; // a response, never answer it
  if (opcode !== 0) return { drop: false, id, rd, opcode, rcode: RCODE.NOTIMP };
  const qd = b.readUInt16BE(4);
  const an = b.readUInt16BE(6);
  const ns = b.readUInt16BE(8);
  const ar = b.readUInt16BE(10);
  // RFC 9619: a query has exactly one question
  if (qd !== 1) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR };
  // the question name: contiguous labels (a pointer can only point backwards, into the header)
  let off = 12;
  let total = 0;
  let plain = true; // no '.' or '\\' bytes inside labels
  for (;;) {
    if (off >= b.length) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR };
    const len = b[off];
    if (len === 0) break;
    if (len > 63) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR };
    if (off + 1 + len > b.length) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR };
    total += len + 1;
    if (total > 254) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR };
    if (plain) for (let i = off + 1; i <= off + len; i++) if (b[i] === 0x2e || b[i] === 0x5c) plain = false;
    off += len + 1;
  }
  const nameEnd = off + 1;
  if (nameEnd + 4 > b.length) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR };
  const qtype = b.readUInt16BE(nameEnd);
  const qclass = b.readUInt16BE(nameEnd + 2);
  const questionEnd = nameEnd + 4;
  const wireKey = b.toString('latin1', 12, nameEnd).toLowerCase();
  let qname: string;
  if (plain) {
    // wire form → dotted: the length bytes become dots
    qname = b.toString('latin1', 13, nameEnd - 1);
    let o = 12;
    const chars = qname.split('');
    while (b[o] !== 0) {
      const len = b[o];
      const next = o + len + 1;
      if (b[next] !== 0) chars[next - 13] = '.';
      o = next;
    }
    qname = chars.join('').toLowerCase();
  } else {
    const labels: string[] = [];
    for (let o = 12; b[o] !== 0; o += b[o] + 1) labels.push(b.toString('latin1', o + 1, o + 1 + b[o]).replace(/\\/g, '\\\\').replace(/\./g, '\\.'));
    qname = labels.join('.').toLowerCase();
  }
  // skip answer and authority records (a query has none, but tolerate them), then find OPT
  let o = questionEnd;
  for (let i = 0; i < an + ns; i++) {
    o = skipName(b, o);
    if (o < 0 || o + 10 > b.length) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR, questionEnd };
    o += 10 + b.readUInt16BE(o + 8);
    if (o > b.length) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR, questionEnd };
  }
  let edns: Edns | undefined;
  for (let i = 0; i < ar; i++) {
    const start = o;
    o = skipName(b, o);
    if (o < 0 || o + 10 > b.length) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR, questionEnd };
    const type = b.readUInt16BE(o);
    const rdlen = b.readUInt16BE(o + 8);
    if (type === TYPE.OPT) {
      // one OPT, owned by the root name
      if (edns || o - start !== 1) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR, questionEnd };
      edns = { udpSize: Math.max(MAX_UDP, b.readUInt16BE(o + 2)), version: b[o + 5], dnssecOk: (b[o + 6] & 0x80) !== 0 };
    }
    o += 10 + rdlen;
    if (o > b.length) return { drop: false, id, rd, opcode, rcode: RCODE.FORMERR, questionEnd };
  }
  if (edns && edns.version !== 0) return { drop: false, id, rd, opcode, rcode: RCODE.BADVERS, questionEnd, edns };
  return { id, rd, qname, wireKey, qtype, qclass, questionEnd, edns };
}

export type RData =
  | { type: typeof TYPE.A | typeof TYPE.AAAA; ip: Uint8Array }
  | { type: typeof TYPE.CNAME | typeof TYPE.PTR | typeof TYPE.NS; target: string }
  | { type: typeof TYPE.SRV; priority: number; weight: number; port: number; target: string }
  | { type: typeof TYPE.SOA; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { type: typeof TYPE.TXT; text: string[] };

export interface RR {
  /** owner name, lowercase dotted; undefined = the question's name (written as a pointer to it) */
  name?: string;
  ttl: number;
  data: RData;
}

export interface Answer {
  rcode: number;
  authoritative: boolean;
  answer: RR[];
  authority: RR[];
  additional: RR[];
}

/** Writes one message into a growable buffer, compressing names against everything written before. */
export class MessageWriter {
  buf: Buffer;
  pos = 0;
  private readonly names = new Map<string, number>();

  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Copy the question from a query and make its name (and its suffixes) compression targets. */
  question(src: Buffer, questionEnd: number): void {
    const start = this.pos;
    this.bytes(src.subarray(12, questionEnd));
    // register each suffix of the question name at its offset
    const labels: [number, string][] = [];
    for (let o = start; this.buf[o] !== 0; o += this.buf[o] + 1) labels.push([o, this.buf.toString('latin1', o + 1, o + 1 + this.buf[o]).toLowerCase()]);
    for (let i = 0; i < labels.length; i++) {
      const key = labels
        .slice(i)
        .map((l) => l[1])
        .join('.');
      if (labels[i][0] < 0x3fff && !this.names.has(key)) this.names.set(key, labels[i][0]);
    }
  }

  /** A dotted name ('' = root), compressed. */
  name(n: string): void {
    if (n === '') return this.u8(0);
    const labels = n.split('.');
    for (let i = 0; i < labels.length; i++) {
      const suffix = i === 0 ? n : labels.slice(i).join('.');
      const key = suffix.toLowerCase();
      const at = this.names.get(key);
      if (at !== undefined) return this.u16(0xc000 | at);
      if (this.pos < 0x3fff) this.names.set(key, this.pos);
      const l = Buffer.from(labels[i], 'latin1');
      this.u8(Math.min(l.length, 63));
      this.bytes(l.subarray(0, 63));
    }
    this.u8(0);
  }

  rr(r: RR): void {
    if (r.name === undefined) this.u16(0xc00c);
    else this.name(r.name);
    const d = r.data;
    this.u16(d.type);
    this.u16(CLASS_IN);
    this.u32(r.ttl);
    const lenAt = this.pos;
    this.u16(0);
    switch (d.type) {
      case TYPE.A:
      case TYPE.AAAA:
        this.bytes(d.ip);
        break;
      case TYPE.CNAME:
      case TYPE.PTR:
      case TYPE.NS:
        this.name(d.target);
        break;
      case TYPE.SRV:
        this.u16(d.priority);
        this.u16(d.weight);
        this.u16(d.port);
        // RFC 2782: no compression of the SRV target
        this.uncompressedName(d.target);
        break;
      case TYPE.SOA:
        this.name(d.mname);
        this.name(d.rname);
        this.u32(d.serial);
        this.u32(d.refresh);
        this.u32(d.retry);
        this.u32(d.expire);
        this.u32(d.minimum);
        break;
      case TYPE.TXT:
        for (const t of d.text) {
          const s = Buffer.from(t).subarray(0, 255);
          this.u8(s.length);
          this.bytes(s);
        }
        break;
    }
    this.buf.writeUInt16BE(this.pos - lenAt - 2, lenAt);
  }

  private uncompressedName(n: string): void {
    if (n !== '')
      for (const label of n.split('.')) {
        const l = Buffer.from(label, 'latin1').subarray(0, 63);
        this.u8(l.length);
        this.bytes(l);
      }
    this.u8(0);
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Flags byte 2/3 of a response: QR, opcode 0, AA, RD echoed, RA. */
function flags(aa: boolean, rd: boolean, rcode: number): number {
  return 0x8000 | (aa ? 0x0400 : 0) | (rd ? 0x0100 : 0) | 0x0080 | (rcode & 15);
}

/** A full response to `q` (read from `packet`), without an OPT record. */
export function encodeAnswer(packet: Buffer, q: Query, a: Answer): Buffer {
  const w = new MessageWriter(512);
  w.u16(q.id);
  w.u16(flags(a.authoritative, q.rd, a.rcode));
  w.u16(1);
  w.u16(a.answer.length);
  w.u16(a.authority.length);
  w.u16(a.additional.length);
  w.question(packet, q.questionEnd);
  for (const r of a.answer) w.rr(r);
  for (const r of a.authority) w.rr(r);
  for (const r of a.additional) w.rr(r);
  return w.done();
}

/** An empty response with an rcode: echoes the question when it was readable. */
export function encodeError(packet: Buffer, bad: { id: number; rd: boolean; opcode?: number; rcode: number; questionEnd?: number }): Buffer {
  const qlen = bad.questionEnd ? bad.questionEnd - 12 : 0;
  const b = Buffer.alloc(12 + qlen);
  b.writeUInt16BE(bad.id, 0);
  b.writeUInt16BE(0x8000 | ((bad.opcode ?? 0) << 11) | (bad.rd ? 0x0100 : 0) | 0x0080 | (bad.rcode & 15), 2);
  b.writeUInt16BE(qlen ? 1 : 0, 4);
  if (qlen) packet.copy(b, 12, 12, bad.questionEnd);
  return b;
}

/** The 11-byte OPT record we add when the query had one; `extRcode` carries rcode bits above 4 (BADVERS). */
export function optRecord(extRcode = 0): Buffer {
  const b = Buffer.alloc(11);
  // name root (0), type OPT, class = payload size, TTL = ext-rcode, version 0, flags 0; rdlen 0
  b.writeUInt16BE(TYPE.OPT, 1);
  b.writeUInt16BE(EDNS_SIZE, 3);
  b[5] = extRcode;
  return b;
}

/**
 * Fit a response (without OPT) to the client: set its ID and RD, add an OPT
 * when the query had one, and cut it to header + question with TC set when it
 * is larger than `limit` (the client retries over TCP).
 */
export function finish(resp: Buffer, packet: Buffer, q: { id: number; rd: boolean; questionEnd: number; edns?: Edns }, limit: number): Buffer {
  const opt = q.edns ? 11 : 0;
  const truncated = resp.length + opt > limit;
  const len = truncated ? q.questionEnd + opt : resp.length + opt;
  const out = Buffer.allocUnsafe(len);
  if (truncated) {
    resp.copy(out, 0, 0, 4);
    out.fill(0, 4, 12);
    out.writeUInt16BE(1, 4);
    out[2] |= 0x02;
  } else resp.copy(out, 0, 0, resp.length);
  out.writeUInt16BE(q.id, 0);
  out[2] = (out[2] & 0xfe) | (q.rd ? 1 : 0);
  // the client's question bytes: its ID and its letter case
  packet.copy(out, 12, 12, q.questionEnd);
  if (opt) {
    optRecordInto(out, len - 11);
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  }
  return out;
}

function optRecordInto(b: Buffer, at: number): void {
  b[at] = 0;
  b.writeUInt16BE(TYPE.OPT, at + 1);
  b.writeUInt16BE(EDNS_SIZE, at + 3);
  b.writeUInt32BE(0, at + 5);
  b.writeUInt16BE(0, at + 9);
}

/** The limit for a UDP response to this query. */
export const udpLimit = (edns?: Edns): number => (edns ? Math.min(Math.max(edns.udpSize, MAX_UDP), 4096) : MAX_UDP);
