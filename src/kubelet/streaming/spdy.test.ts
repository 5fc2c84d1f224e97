import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { inflateSync, constants } from 'node:zlib';
import { FrameReader, SpdyClientSession, controlFrame, dataFrame, decodeHeaderBlock, encodeHeaderBlock, type ParsedFrame } from './spdy.js';

test('header blocks travel as a valid zlib stream a standard inflater reads', () => {
  const frames: ParsedFrame[] = [];
  const reader = new FrameReader((f) => frames.push(f));
  // a socket whose written bytes go to our frame reader only
  const sock = new Duplex({ read() {}, write(c: Buffer, _e, cb) { reader.push(c); cb(); } });
  const s = new SpdyClientSession(sock);
  const a = s.createStream({ streamtype: 'error' });
  const b = s.createStream({ streamtype: 'stdin', Port: '80' });
  assert.equal(a.id, 1);
  assert.equal(b.id, 3);
  return new Promise<void>((resolve) => setImmediate(() => {
    assert.equal(frames.length, 2);
    assert.ok(frames.every((f) => f.control && f.type === 1));
    // the two header blocks concatenated are one zlib stream (sync-flushed, not finished)
    const z = Buffer.concat(frames.map((f) => f.payload.subarray(10)));
    const plain = inflateSync(z, { finishFlush: constants.Z_SYNC_FLUSH });
    const first = encodeHeaderBlock({ streamtype: 'error' });
    assert.deepEqual(decodeHeaderBlock(plain.subarray(0, first.length)), { streamtype: 'error' });
    assert.deepEqual(decodeHeaderBlock(plain.subarray(first.length)), { streamtype: 'stdin', port: '80' });
    assert.equal(frames[1]!.streamId, 3);
    resolve();
  }));
});

test('data frames reach their stream; FIN ends it; pings with even ids are answered', async () => {
  const sock = new PassThrough();
  const written: Buffer[] = [];
  const origWrite = sock.write.bind(sock);
  (sock as unknown as { write: (b: Buffer) => boolean }).write = (b: Buffer) => (written.push(b), true);
  const s = new SpdyClientSession(sock);
  const st = s.createStream({ streamtype: 'stdout' });
  const got: string[] = [];
  let ended = false;
  st.on('data', (d: Buffer) => got.push(d.toString()));
  st.on('end', () => (ended = true));
  const ping = Buffer.alloc(4);
  ping.writeUInt32BE(2);
  // split across chunks to exercise reassembly
  const bytes = Buffer.concat([dataFrame(1, 0, Buffer.from('hel')), dataFrame(1, 1, Buffer.from('lo')), controlFrame(6, 0, ping)]);
  origWrite(bytes.subarray(0, 5));
  origWrite(bytes.subarray(5));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.join(''), 'hello');
  assert.ok(ended);
  const pong = written.find((b) => b[0] === 0x80 && b.readUInt16BE(2) === 6);
  assert.ok(pong, 'ping answered');
  st.write(Buffer.from('x'));
  st.end();
  const last = written[written.length - 1]!;
  assert.equal(last.readUInt32BE(0), 1);
  assert.equal(last[4], 1, 'FIN flag on the empty end frame');
});
