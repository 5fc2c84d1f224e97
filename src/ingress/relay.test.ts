// The HTTP/1.1 relay: head parsing and chunked framing (http1.ts), and relay.ts
// end to end over loopback with a raw-socket client and upstream, so split
// packets, chunked bodies across reads, HEAD, 204/304, close-delimited
// responses and the hand-over of pipelined requests are all exercised.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import http from 'node:http';
import client from 'prom-client';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import { ChunkedScanner, parseRequestHead, parseResponseHead } from './http1.js';
import { DataPlane } from './proxy.js';
import { buildRouteTable } from './routeTable.js';
import { CertificateStore, fallbackCertificate } from './certificates.js';
import { createListeners, listen, type Listeners } from './listeners.js';
import { IngressMetrics } from './metrics.js';
import { endpointCookie } from './upstreams.js';

const head = (s: string) => {
  const b = Buffer.from(s, 'latin1');
  return { b, end: b.indexOf('\r\n\r\n') };
};

describe('http1 heads and chunked framing', () => {
  it('parses a request head and refuses what it does not handle', () => {
    const { b, end } = head('GET /a?b=1 HTTP/1.1\r\nHost: x.com\r\nContent-Length: 3\r\nX-Request-ID: abc\r\nConnection: keep-alive\r\n\r\n');
    const h = parseRequestHead(b, end)!;
    assert.equal(h.method, 'GET');
    assert.equal(h.target, '/a?b=1');
    assert.equal(h.host, 'x.com');
    assert.equal(h.contentLength, 3);
    assert.equal(h.requestId, 'abc');
    assert.equal(h.connection, 'keep-alive');
    for (const bad of [
      'GET / HTTP/1.0\r\nHost: x\r\n\r\n',
      'GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n', // no Host
      'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n',
      'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\nA: b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\x00\r\n\r\n',
    ]) {
      const { b: bb, end: e } = head(bad);
      assert.equal(parseRequestHead(bb, e), undefined, JSON.stringify(bad));
    }
  });

  it('parses a response head', () => {
    const { b, end } = head('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nTransfer-Encoding: chunked\r\n\r\n');
    const h = parseResponseHead(b, end)!;
    assert.equal(h.status, 304);
    assert.equal(h.transferEncoding, 'chunked');
    assert.equal(parseResponseHead(...(Object.values(head('HTTP/2 200\r\n\r\n')) as [Buffer, number])), undefined);
    assert.equal(parseResponseHead(...(Object.values(head('HTTP/1.0 200 OK\r\n\r\n')) as [Buffer, number]))?.http10, true);
  });

  it('finds the end of a chunked body fed in any pieces, with extensions and trailers', () => {
    const body = Buffer.from('5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT');
    const end = body.length - 4;
    for (let split = 1; split < body.length; split++) {
      const s = new ChunkedScanner();
      const a = s.feed(body.subarray(0, split));
      if (a >= 0) {
        assert.equal(a, end);
        continue;
      }
      const rest = body.subarray(split);
      assert.equal(s.feed(rest) + split, end, `split ${split}`);
    }
    // byte by byte
    const s = new ChunkedScanner();
    let got = -1;
    for (let i = 0; i < body.length && got < 0; i++) if (s.feed(body.subarray(i, i + 1)) >= 0) got = i + 1;
    assert.equal(got, end);
    assert.throws(() => new ChunkedScanner().feed(Buffer.from('zz\r\n')));
    assert.throws(() => new ChunkedScanner().feed(Buffer.from('3\r\nabcX')));
  });
});

/** Raw HTTP exchange: write pieces (with pauses), read until `until` says the answer is complete. */
async function raw(port: number, pieces: (string | Buffer)[], until: (s: string) => boolean): Promise<{ text: string; closed: boolean }> {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await new Promise((r) => s.once('connect', r));
  let text = '';
  let closed = false;
  const done = new Promise<void>((resolve) => {
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (until(text)) resolve();
    });
    s.on('close', () => {
      closed = true;
      resolve();
    });
  });
  for (const p of pieces) {
    s.write(p);
    await new Promise((r) => setTimeout(r, 15));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  await new Promise((r) => setTimeout(r, 30));
  s.destroy();
  return { text, closed };
}

describe('HTTP/1.1 relay', () => {
  let upstream: net.Server;
  let upConnections = 0;
  let dp: DataPlane;
  let l: Listeners;
  let port = 0;
  const registry = new client.Registry();
  const metrics = new IngressMetrics(registry);

  before(async () => {
    // a raw upstream: answers by path, echoing the request it got (head + body)
    upstream = net.createServer((s) => {
      upConnections++;
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const headText = buf.toString('latin1', 0, end);
          const cl = /content-length: (\d+)/i.exec(headText);
          const chunked = /transfer-encoding: chunked/i.test(headText);
          let bodyEnd = end + 4 + (cl ? Number(cl[1]) : 0);
          if (chunked) {
            const e = new ChunkedScanner().feed(buf, end + 4);
            if (e < 0) return;
            bodyEnd = e;
          }
          if (buf.length < bodyEnd) return;
          const req = buf.toString('latin1', 0, bodyEnd);
          buf = buf.subarray(bodyEnd);
          const path = req.split(' ')[1];
          const echo = JSON.stringify(req);
          if (path === '/split') {
            // head and body in several packets
            s.write('HTTP/1.1 200 OK\r\nContent-');
            setTimeout(() => s.write(`Length: ${echo.length}\r\n\r\n${echo.slice(0, 5)}`), 10);
            setTimeout(() => s.write(echo.slice(5)), 20);
          } else if (path === '/chunked') {
            s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
            setTimeout(() => s.write('4\r\ndefg\r\n0\r\n\r\n'), 10);
          } else if (path === '/close') {
            s.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-');
            setTimeout(() => s.end('close'), 10);
          } else if (path === '/head') s.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n');
          else if (path === '/204') s.write('HTTP/1.1 204 No Content\r\n\r\n');
          else if (path === '/304') s.write('HTTP/1.1 304 Not Modified\r\nETag: "e"\r\n\r\n');
          else if (path === '/continue') s.write(`HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`);
          else if (path === '/garbage') s.end('NOT HTTP\r\n\r\n');
          else s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${echo.length}\r\nX-Up: 1\r\nConnection: keep-alive\r\n\r\n${echo}`);
        }
      });
      s.on('error', () => undefined);
    });
    const upPort = await listen(upstream, 0, '127.0.0.1');
    dp = new DataPlane({ httpsPort: () => 443, metrics });
    const ing: Ingress = {
      metadata: { name: 'r', namespace: 'd', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { rules: [{ host: 'relay.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'u', port: { number: 80 } } } }] } }] },
    };
    dp.table = buildRouteTable([ing]);
    dp.upstream('d/u:80').set([{ ip: '127.0.0.1', port: upPort, address: `127.0.0.1:${upPort}`, cookie: endpointCookie(`127.0.0.1:${upPort}`) }]);
    l = createListeners(dp, new CertificateStore(await fallbackCertificate()), { relay: true });
    port = await listen(l.plain, 0, '127.0.0.1');
  });

  after(async () => {
    await l.close();
    dp.close();
    upstream.close();
  });

  const complete = (n: number) => (t: string) => t.split('HTTP/1.1 ').length - 1 >= n && /\r\n\r\n/.test(t);

  it('relays a request split across packets, with forwarding headers, and reuses the upstream connection', async () => {
    const before = upConnections;
    const r = await raw(port, ['GET /x?q=1 HTT', 'P/1.1\r\nHost: relay.com\r\nX-Forwarded-For: 6.6.6.6\r\nContent-Le', 'ngth: 5\r\n\r\nhe', 'llo'], (t) => t.endsWith('"'));
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.text, /connection: keep-alive\r\nkeep-alive: timeout=75/);
    assert.doesNotMatch(r.text, /Connection: keep-alive/); // the upstream's hop-by-hop header is dropped
    const sent = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as string;
    assert.match(sent, /^GET \/x\?q=1 HTTP\/1\.1\r\nhost: relay\.com\r\n/);
    assert.match(sent, /x-forwarded-for: 127\.0\.0\.1\r\n/);
    assert.doesNotMatch(sent, /6\.6\.6\.6/);
    assert.match(sent, /x-request-id: [0-9a-f]{32}\r\n/);
    assert.match(sent, /x-forwarded-proto: http\r\n/);
    assert.ok(sent.endsWith('\r\n\r\nhello'));
    // two sequential requests on one client connection: one more upstream connection at most
    const mid = upConnections;
    const r2 = await raw(port, ['GET /a HTTP/1.1\r\nHost: relay.com\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: relay.com\r\n\r\n'], complete(2));
    assert.equal(r2.text.split('HTTP/1.1 200 OK').length - 1, 2);
    assert.ok(upConnections - before <= 1 && upConnections === mid, `upstream connections: ${upConnections - before}`);
  });

  it('relays response heads and bodies split across packets, and chunked responses', async () => {
    const r = await raw(port, ['GET /split HTTP/1.1\r\nHost: relay.com\r\n\r\n'], (t) => t.endsWith('"'));
    const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
    assert.match(JSON.parse(body) as string, /^GET \/split/);
    const c = await raw(port, ['GET /chunked HTTP/1.1\r\nHost: relay.com\r\n\r\n'], (t) => t.endsWith('0\r\n\r\n'));
    assert.match(c.text, /transfer-encoding: chunked\r\n/);
    assert.ok(c.text.endsWith('\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n'), c.text);
    assert.equal(c.closed, false);
  });

  it('relays a chunked request body that arrives across reads', async () => {
    const r = await raw(port, ['POST /up HTTP/1.1\r\nHost: relay.com\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab', 'cd\r\n', '2;x=y\r\nef\r\n0\r\n', 'T: 1\r\n\r\n'], (t) => t.endsWith('"'));
    const sent = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as string;
    assert.match(sent, /transfer-encoding: chunked\r\n/);
    assert.ok(sent.endsWith('\r\n\r\n4\r\nabcd\r\n2;x=y\r\nef\r\n0\r\nT: 1\r\n\r\n'), JSON.stringify(sent));
  });

  it('HEAD, 204 and 304 have no body; the connection stays usable', async () => {
    const r = await raw(
      port,
      ['HEAD /head HTTP/1.1\r\nHost: relay.com\r\n\r\n', 'GET /204 HTTP/1.1\r\nHost: relay.com\r\n\r\n', 'GET /304 HTTP/1.1\r\nHost: relay.com\r\n\r\n', 'GET /x HTTP/1.1\r\nHost: relay.com\r\n\r\n'],
      (t) => t.endsWith('"'),
    );
    const answers = r.text.split('HTTP/1.1 ').slice(1);
    assert.deepEqual(answers.map((a) => a.slice(0, 3)), ['200', '204', '304', '200']);
    assert.match(answers[0], /Content-Length: 1234\r\n/);
    assert.ok(answers[0].endsWith('\r\n\r\n') && answers[1].endsWith('\r\n\r\n') && answers[2].endsWith('\r\n\r\n'));
    assert.doesNotMatch(answers[1] + answers[2], /transfer-encoding/);
  });

  it('re-chunks a close-delimited upstream response; 1xx is skipped; garbage is a 502', async () => {
    const r = await raw(port, ['GET /close HTTP/1.1\r\nHost: relay.com\r\n\r\n'], (t) => t.endsWith('0\r\n\r\n'));
    assert.match(r.text, /transfer-encoding: chunked\r\n/);
    assert.ok(r.text.endsWith('\r\n\r\n6\r\nuntil-\r\n5\r\nclose\r\n0\r\n\r\n'), r.text);
    assert.equal(r.closed, false);
    const c = await raw(port, ['GET /continue HTTP/1.1\r\nHost: relay.com\r\n\r\n'], (t) => t.endsWith('ok'));
    assert.match(c.text, /^HTTP\/1\.1 200 OK\r\n/);
    const g = await raw(port, ['GET /garbage HTTP/1.1\r\nHost: relay.com\r\n\r\n'], (t) => t.includes('</html>'));
    assert.match(g.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  });

  it('hands pipelined requests, HTTP/1.0, unknown hosts and upgrades to the Node server', async () => {
    // two requests in one packet: both answered, in order
    const p = await raw(port, ['GET /p1 HTTP/1.1\r\nHost: relay.com\r\n\r\nGET /p2 HTTP/1.1\r\nHost: relay.com\r\n\r\n'], (t) => (t.match(/"GET \/p\d/g) ?? []).length >= 2 && t.endsWith('"'));
    const bodies = [...p.text.matchAll(/"GET (\/p\d)/g)].map((m) => m[1]);
    assert.deepEqual(bodies, ['/p1', '/p2']);
    // the second answer came through Node's server (its header casing, its Date)
    assert.match(p.text.split('HTTP/1.1 200 OK')[2], /Connection: keep-alive\r\n/);
    const h10 = await raw(port, ['GET /x HTTP/1.0\r\nHost: relay.com\r\n\r\n'], () => false);
    assert.match(h10.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.equal(h10.closed, true);
    const unknown = await raw(port, ['GET / HTTP/1.1\r\nHost: nowhere.com\r\n\r\n'], (t) => t.includes('</html>'));
    assert.match(unknown.text, /^HTTP\/1\.1 404 Not Found\r\n/);
    // a request the relay cannot parse goes to Node's server, which drops it (the listener's clientError handler)
    const bad = await raw(port, ['GET / HTTP/1.1\r\nHost: relay.com\r\nBad Header: x\r\n\r\n'], () => false);
    assert.equal(bad.text, '');
    assert.equal(bad.closed, true);
  });

  it('counts relayed requests in the metrics', async () => {
    await raw(port, ['GET /m HTTP/1.1\r\nHost: relay.com\r\n\r\n'], (t) => t.endsWith('"'));
    const text = await registry.metrics();
    assert.match(text, /ingress_requests_total\{host="relay\.com",path="\/",status="200"\} \d+/);
  });

  it('answers Node-style for Node clients too (keep-alive agent, POST bodies)', async () => {
    const agent = new http.Agent({ keepAlive: true });
    for (let i = 0; i < 3; i++) {
      const body = await new Promise<string>((resolve, reject) => {
        const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: `/n${i}`, headers: { host: 'relay.com' }, agent }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        });
        req.on('error', reject);
        req.end('x'.repeat(100_000));
      });
      assert.ok((JSON.parse(body) as string).endsWith('x'.repeat(1000)));
    }
    agent.destroy();
  });
});
