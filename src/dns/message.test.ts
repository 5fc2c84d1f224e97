import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RCODE, TYPE, MessageWriter, encodeAnswer, finish, isQuery, parseQuery, udpLimit, type Query } from './message.js';
import { buildQuery, decodeMessage } from './decode.js';
import { dashed, formatIP, parseIP, parseReverseName, reverseName, undash, parseCidr, cidrContains } from './ip.js';

test('IP text, dashed labels and reverse names round-trip', () => {
  for (const s of ['10.43.0.10', '0.0.0.0', '255.255.255.255', 'fd00::1', '2001:db8::', '::', '::ffff:10.0.0.1', '2001:db8:0:1:0:0:0:1', '1:2:3:4:5:6:7:8']) {
    const b = parseIP(s)!;
    assert.ok(b, s);
    const text = formatIP(b);
    assert.deepEqual(parseIP(text), b, s);
    assert.deepEqual(undash(dashed(b)), b, s);
    assert.deepEqual(parseReverseName(reverseName(b)), b, s);
  }
  assert.equal(formatIP(parseIP('2001:db8:0:1:0:0:0:1')!), '2001:db8:0:1::1');
  assert.equal(dashed(parseIP('10.42.0.5')!), '10-42-0-5');
  assert.equal(reverseName(parseIP('10.43.0.10')!), '10.0.43.10.in-addr.arpa');
  for (const bad of ['10.43.0', '10.43.0.256', '1::2::3', 'x', '1:2:3:4:5:6:7:8:9', '12345::']) assert.equal(parseIP(bad), undefined, bad);
  assert.equal(undash('web'), undefined);
  assert.equal(parseReverseName('43.10.in-addr.arpa'), undefined);
  const c = parseCidr('10.43.0.0/16')!;
  assert.ok(cidrContains(c, parseIP('10.43.200.1')!));
  assert.ok(!cidrContains(c, parseIP('10.44.0.1')!));
  assert.ok(cidrContains(parseCidr('fd00::/8')!, parseIP('fd12::1')!));
});

test('parseQuery reads the question, keeps the client case in bytes and lowercases the name', () => {
  const q = parseQuery(buildQuery('Web.Default.SVC.cluster.local', TYPE.A, { id: 7 }));
  assert.ok(isQuery(q));
  assert.equal(q.id, 7);
  assert.equal(q.qname, 'web.default.svc.cluster.local');
  assert.equal(q.qtype, TYPE.A);
  assert.equal(q.rd, true);
  assert.equal(q.edns, undefined);
  const r = parseQuery(buildQuery('.', TYPE.NS));
  assert.ok(isQuery(r));
  assert.equal(r.qname, '');
  const e = parseQuery(buildQuery('a.b', TYPE.AAAA, { edns: 4096 }));
  assert.ok(isQuery(e));
  assert.deepEqual(e.edns, { udpSize: 4096, version: 0, dnssecOk: false });
  assert.equal(udpLimit(e.edns), 4096);
  assert.equal(udpLimit({ udpSize: 100, version: 0, dnssecOk: false }), 512);
  // a '.' inside a label can never match a real name
  const dotted = buildQuery('x.y', TYPE.A);
  dotted[13] = 0x2e; // label "x" → "."
  const d = parseQuery(dotted);
  assert.ok(isQuery(d));
  assert.equal(d.qname, '\\..y');
});

test('malformed input gives FORMERR, other opcodes NOTIMP, responses and runts are dropped', () => {
  const good = buildQuery('web.default.svc.cluster.local', TYPE.A);
  const bad = (b: Buffer) => {
    const q = parseQuery(b);
    assert.ok(!isQuery(q));
    return q;
  };
  assert.equal(bad(Buffer.alloc(5)).drop, true);
  const resp = Buffer.from(good);
  resp[2] |= 0x80;
  assert.equal(bad(resp).drop, true);
  assert.equal(bad(buildQuery('a.b', TYPE.A, { opcode: 2 })).rcode, RCODE.NOTIMP);
  for (let cut = 12; cut < good.length; cut++) assert.equal(bad(good.subarray(0, cut)).rcode, RCODE.FORMERR, `cut at ${cut}`);
  const two = Buffer.from(good);
  two.writeUInt16BE(2, 4);
  assert.equal(bad(two).rcode, RCODE.FORMERR);
  const zero = Buffer.from(good);
  zero.writeUInt16BE(0, 4);
  assert.equal(bad(zero).rcode, RCODE.FORMERR);
  const ptr = Buffer.from(good);
  ptr[12] = 0xc0;
  assert.equal(bad(ptr).rcode, RCODE.FORMERR);
  const opt = buildQuery('a.b', TYPE.A, { edns: 1232 });
  const lying = Buffer.from(opt);
  lying.writeUInt16BE(3, 10); // 3 additional records, only one there
  assert.equal(bad(lying).rcode, RCODE.FORMERR);
  const v1 = Buffer.from(opt);
  v1[v1.length - 5] = 1; // EDNS version 1
  assert.equal(bad(v1).rcode, RCODE.BADVERS);
  // random bytes never throw
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(good);
    for (let k = 0; k < 4; k++) b[Math.floor(Math.random() * b.length)] = Math.floor(Math.random() * 256);
    parseQuery(b.subarray(0, Math.floor(Math.random() * (b.length + 1))));
  }
});

test('encodeAnswer compresses names against the question; finish sets ID, case, OPT and TC', () => {
  const packet = buildQuery('_HTTP._tcp.Web.default.svc.cluster.local', TYPE.SRV, { id: 1 });
  const q = parseQuery(packet) as Query;
  const rrs = Array.from({ length: 40 }, (_, i) => ({ name: `web-${i}.web.default.svc.cluster.local`, ttl: 5, data: { type: TYPE.A, ip: new Uint8Array([10, 42, 0, i]) } }) as const);
  const resp = encodeAnswer(packet, q, {
    rcode: 0,
    authoritative: true,
    answer: [{ ttl: 5, data: { type: TYPE.SRV, priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' } }],
    authority: [],
    additional: rrs,
  });
  const m = decodeMessage(resp);
  assert.equal(m.questions[0].name, '_HTTP._tcp.Web.default.svc.cluster.local');
  assert.equal(m.answer[0].name, '_HTTP._tcp.Web.default.svc.cluster.local');
  assert.equal(m.answer[0].data, '0 100 80 web.default.svc.cluster.local');
  assert.equal(m.additional.length, 40);
  assert.equal(m.additional[3].name.toLowerCase(), 'web-3.web.default.svc.cluster.local');
  assert.equal(m.additional[3].data, '10.42.0.3');
  // compressed: each additional record is well under its uncompressed size
  assert.ok(resp.length < 40 * 30, `size ${resp.length}`);

  // another client, other case, other ID: same cached bytes
  const p2 = buildQuery('_http._TCP.web.DEFAULT.svc.cluster.local', TYPE.SRV, { id: 99, rd: false, edns: 1232 });
  const q2 = parseQuery(p2) as Query;
  const out = decodeMessage(finish(resp, p2, q2, 1232));
  assert.equal(out.id, 99);
  assert.equal(out.rd, false);
  assert.equal(out.questions[0].name, '_http._TCP.web.DEFAULT.svc.cluster.local');
  assert.equal(out.answer[0].name, '_http._TCP.web.DEFAULT.svc.cluster.local');
  assert.equal(out.additional.length, 41);
  assert.equal(out.additional[40].type, TYPE.OPT);
  // over the limit: header + question (+ OPT), TC set
  const tc = decodeMessage(finish(resp, p2, q2, 512));
  assert.ok(tc.tc);
  assert.equal(tc.answer.length, 0);
  assert.equal(tc.additional.length, 1);
  assert.equal(tc.questions[0].name, '_http._TCP.web.DEFAULT.svc.cluster.local');
});

test('MessageWriter grows past its first buffer', () => {
  const w = new MessageWriter(16);
  for (let i = 0; i < 100; i++) w.name(`n${i}.example.com`);
  assert.ok(w.done().length > 16);
});
