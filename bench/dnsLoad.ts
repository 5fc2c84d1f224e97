// The DNS load generator of the `dns` benchmark, run as a child process so it
// has its own core: UDP sockets each keeping a window of queries in flight,
// names taken round-robin from a fixed list, bounded by a query count and a
// deadline. Lost queries are counted and replaced after a timeout. Prints one
// JSON line: responses, elapsed seconds, rcode mismatches, lost queries.
import dgram from 'node:dgram';
import { buildQuery } from '../src/dns/decode.js';

interface LoadSpec {
  host: string;
  port: number;
  /** [name, qtype, expected rcode] */
  names: [string, number, number][];
  sockets: number;
  window: number;
  maxQueries: number;
  maxMs: number;
}

const spec: LoadSpec = JSON.parse(process.argv[2]);
const queries = spec.names.map(([n, t]) => buildQuery(n, t, { id: 0 }));
const expected = spec.names.map(([, , rc]) => rc);

let sent = 0;
let received = 0;
let mismatched = 0;
let lost = 0;
let next = 0;
const start = performance.now();
const deadline = start + spec.maxMs;
let finished = false;

const socks = Array.from({ length: spec.sockets }, () => {
  const s = dgram.createSocket('udp4');
  // per socket: id → [name index, send time]
  const inflight = new Map<number, [number, number]>();
  let id = 0;
  const send = () => {
    if (finished || sent >= spec.maxQueries || performance.now() > deadline) return;
    const i = next++ % queries.length;
    id = (id + 1) & 0xffff;
    while (inflight.has(id)) id = (id + 1) & 0xffff;
    const q = Buffer.allocUnsafe(queries[i].length);
    queries[i].copy(q);
    q.writeUInt16BE(id, 0);
    inflight.set(id, [i, performance.now()]);
    sent++;
    s.send(q, spec.port, spec.host);
  };
  s.on('message', (m) => {
    const rid = m.readUInt16BE(0);
    const f = inflight.get(rid);
    if (!f) return;
    inflight.delete(rid);
    received++;
    if ((m[3] & 15) !== expected[f[0]]) mismatched++;
    send();
  });
  s.on('error', () => undefined);
  return { s, inflight, send };
});

const sweep = setInterval(() => {
  const now = performance.now();
  for (const k of socks) {
    for (const [id, [, t]] of k.inflight) {
      if (now - t > 500) {
        k.inflight.delete(id);
        lost++;
        k.send();
      }
    }
  }
  const idle = socks.every((k) => k.inflight.size === 0);
  if (now > deadline || (sent >= spec.maxQueries && idle)) done();
}, 50);

function done(): void {
  if (finished) return;
  finished = true;
  clearInterval(sweep);
  const elapsed = (performance.now() - start) / 1000;
  for (const k of socks) k.s.close();
  process.stdout.write(JSON.stringify({ received, elapsed, mismatched, lost, sent }) + '\n');
}

let bound = 0;
for (const k of socks)
  k.s.bind(0, '127.0.0.1', () => {
    if (++bound < socks.length) return;
    for (const kk of socks) for (let w = 0; w < spec.window; w++) kk.send();
  });
