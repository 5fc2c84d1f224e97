// A complete, allocation-happy DNS message reader and a query builder: for
// tests, the benchmark and diagnostics, not for the server's hot path (that is
// message.ts).
import { TYPE } from './message.js';
import { formatIP } from './ip.js';

export interface DecodedRR {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** A/AAAA: address text; CNAME/PTR/NS: name; SRV: "prio weight port target"; SOA: "mname rname serial … minimum"; TXT: joined strings */
  data: string;
}

export interface DecodedMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
  questions: { name: string; type: number; class: number }[];
  answer: DecodedRR[];
  authority: DecodedRR[];
  additional: DecodedRR[];
}

function readName(b: Buffer, off: number): [string, number] {
  const labels: string[] = [];
  let end = -1;
  for (let guard = 0; guard < 128; guard++) {
    if (off >= b.length) throw new Error('name past the end');
    const len = b[off];
    if (len === 0) {
      if (end < 0) end = off + 1;
      return [labels.join('.'), end];
    }
    if ((len & 0xc0) === 0xc0) {
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | b[off + 1];
      continue;
    }
    labels.push(b.toString('latin1', off + 1, off + 1 + len));
    off += len + 1;
  }
  throw new Error('name loop');
}

export function decodeMessage(b: Buffer): DecodedMessage {
  const f = b.readUInt16BE(2);
  const m: DecodedMessage = {
    id: b.readUInt16BE(0),
    qr: !!(f & 0x8000),
    opcode: (f >> 11) & 15,
    aa: !!(f & 0x400),
    tc: !!(f & 0x200),
    rd: !!(f & 0x100),
    ra: !!(f & 0x80),
    rcode: f & 15,
    questions: [],
    answer: [],
    authority: [],
    additional: [],
  };
  let off = 12;
  for (let i = 0; i < b.readUInt16BE(4); i++) {
    const [name, o] = readName(b, off);
    m.questions.push({ name, type: b.readUInt16BE(o), class: b.readUInt16BE(o + 2) });
    off = o + 4;
  }
  const sections: DecodedRR[][] = [m.answer, m.authority, m.additional];
  const counts = [b.readUInt16BE(6), b.readUInt16BE(8), b.readUInt16BE(10)];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s]; i++) {
      const [name, o] = readName(b, off);
      const type = b.readUInt16BE(o);
      const rdlen = b.readUInt16BE(o + 8);
      const rd = o + 10;
      if (rd + rdlen > b.length) throw new Error('rdata past the end');
      let data = '';
      if (type === TYPE.A || type === TYPE.AAAA) data = formatIP(b.subarray(rd, rd + rdlen));
      else if (type === TYPE.CNAME || type === TYPE.PTR || type === TYPE.NS) data = readName(b, rd)[0];
      else if (type === TYPE.SRV) data = `${b.readUInt16BE(rd)} ${b.readUInt16BE(rd + 2)} ${b.readUInt16BE(rd + 4)} ${readName(b, rd + 6)[0]}`;
      else if (type === TYPE.SOA) {
        const [mname, o1] = readName(b, rd);
        const [rname, o2] = readName(b, o1);
        data = [mname, rname, ...[0, 4, 8, 12, 16].map((k) => b.readUInt32BE(o2 + k))].join(' ');
      } else if (type === TYPE.TXT) {
        const parts: string[] = [];
        for (let p = rd; p < rd + rdlen; p += b[p] + 1) parts.push(b.toString('utf8', p + 1, p + 1 + b[p]));
        data = parts.join('');
      }
      sections[s].push({ name, type, class: b.readUInt16BE(o + 2), ttl: b.readUInt32BE(o + 4), data });
      off = rd + rdlen;
    }
  }
  return m;
}

/** A query in wire form. `edns` adds an OPT record with that UDP payload size. */
export function buildQuery(name: string, type: number, o: { id?: number; rd?: boolean; edns?: number; opcode?: number } = {}): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(o.id ?? 0x1234, 0);
  head.writeUInt16BE(((o.opcode ?? 0) << 11) | (o.rd === false ? 0 : 0x100), 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(o.edns ? 1 : 0, 10);
  parts.push(head);
  for (const l of labels) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3);
  parts.push(tail);
  if (o.edns) {
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(TYPE.OPT, 1);
    opt.writeUInt16BE(o.edns, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}
