// The HTTP/1.1 relay: a fast path for the plain-HTTP listener that skips Node's
// http server and client. It takes the listener's connections, parses each
// request head itself (http1.ts), routes it with the DataPlane's table, writes
// the rewritten head (+ X-Forwarded-*, X-Request-ID) to a pooled keep-alive
// upstream socket, relays the body by Content-Length or chunked framing, reads
// the response head for its framing and relays it back. Anything unusual —
// upgrades, Expect, HTTP/1.0, pipelining, odd framing, routes answered locally
// (404/403/308/413/503), cookie affinity, HTTPS backends, parse errors — hands
// the connection (with the bytes already read) to the listener's own
// http.Server, so those requests behave exactly as before.
import type http from 'node:http';
import net from 'node:net';
import { STATUS_CODES } from 'node:http';
import { matchRoute, rewritePath, type Route } from './routeTable.js';
import type { Endpoint, Upstream } from './upstreams.js';
import { errorPage } from './errorPages.js';
import { ChunkedScanner, connectionHas, MAX_HEAD, parseRequestHead, parseResponseHead, type RequestHead } from './http1.js';
import { dropRequest, dropResponse, hostName, idempotent, MAX_TRIES, requestId, retriable, type DataPlane, type RequestRecord } from './proxy.js';

const KEEPALIVE_MS = 75_000;
const HEADERS_TIMEOUT_MS = 60_000;
const UPSTREAM_IDLE_MS = 4_000;
const MAX_IDLE_PER_ENDPOINT = 256;
const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const keepAliveLines = `connection: keep-alive\r\nkeep-alive: timeout=${KEEPALIVE_MS / 1000}\r\n`;

let dateLine = '';
let dateAt = 0;
function date(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

/** Keep-alive upstream sockets, idle ones per endpoint (most recent first). */
class UpstreamPool {
  private readonly idle = new Map<string, UpConn[]>();
  readonly all = new Set<UpConn>();

  get(ep: Endpoint): UpConn | undefined {
    const list = this.idle.get(ep.address);
    const c = list?.pop();
    if (c) c.socket.setTimeout(0);
    return c;
  }

  release(c: UpConn): void {
    let list = this.idle.get(c.address);
    if (!list) this.idle.set(c.address, (list = []));
    if (list.length >= MAX_IDLE_PER_ENDPOINT) return c.destroy();
    c.ex = undefined;
    c.reused = true;
    c.socket.setTimeout(UPSTREAM_IDLE_MS);
    list.push(c);
  }

  forget(c: UpConn): void {
    this.all.delete(c);
    const list = this.idle.get(c.address);
    if (!list) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
  }

  close(): void {
    for (const c of this.all) c.socket.destroy();
  }
}

/** One upstream socket; its listeners stay for its life and dispatch to the current exchange. */
class UpConn {
  ex?: Exchange;
  reused = false;
  connected = false;
  dead = false;
  readonly socket: net.Socket;

  constructor(
    private readonly pool: UpstreamPool,
    readonly address: string,
    ep: Endpoint,
  ) {
    const s = (this.socket = net.connect({ host: ep.ip, port: ep.port, noDelay: true }));
    pool.all.add(this);
    s.on('connect', () => {
      this.connected = true;
      this.ex?.upConnected(this);
    });
    s.on('data', (b: Buffer) => (this.ex ? this.ex.upData(b) : this.destroy()));
    s.on('end', () => (this.ex ? this.ex.upEnd(this) : this.destroy()));
    s.on('timeout', () => (this.ex ? this.ex.upTimeout(this) : this.destroy()));
    s.on('drain', () => this.ex?.client.socket.resume());
    s.on('error', (e: NodeJS.ErrnoException) => {
      const ex = this.ex;
      this.destroy();
      ex?.upError(this, e);
    });
    s.on('close', () => {
      const ex = this.ex;
      this.destroy();
      ex?.upError(this, Object.assign(new Error('upstream closed'), { code: 'ECONNRESET' }));
    });
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.ex = undefined;
    this.pool.forget(this);
    this.socket.destroy();
  }
}

/** One request/response relayed on a client connection. */
class Exchange implements RequestRecord {
  start = performance.now();
  status = 0;
  upstream?: string;
  bytes = 0;
  up?: UpConn;
  private readonly tried: Endpoint[] = [];
  /** request body framing: 0 none, 1 content-length, 2 chunked */
  private readonly reqMode: number;
  private reqLeft = 0;
  private reqScanner?: ChunkedScanner;
  reqDone: boolean;
  /** body bytes waiting for the upstream connection */
  private queued: Buffer[] = [];
  private sentAny = false;
  // response
  private rbuf?: Buffer;
  private headSent = false;
  /** 0 none, 1 content-length, 2 chunked, 3 until close (re-chunked to the client) */
  private resMode = 0;
  private resLeft = 0;
  private resScanner?: ChunkedScanner;
  private staleRetries = 0;
  private upReusable = true;
  private done = false;

  constructor(
    readonly client: ClientConn,
    readonly relay: Http1Relay,
    readonly route: Route,
    private readonly up0: Upstream,
    readonly method: string,
    readonly path: string,
    readonly query: string,
    readonly hostHeader: string,
    readonly reqId: string,
    private readonly head: Buffer,
    h: RequestHead,
  ) {
    if (h.transferEncoding) {
      this.reqMode = 2;
      this.reqScanner = new ChunkedScanner();
    } else if (h.contentLength) {
      this.reqMode = 1;
      this.reqLeft = h.contentLength;
    } else this.reqMode = 0;
    this.reqDone = this.reqMode === 0;
  }

  get ip(): string {
    return this.client.ip;
  }

  begin(rest: Buffer | undefined): Buffer | undefined {
    const left = rest ? this.takeBody(rest) : undefined;
    this.connect(this.up0.pick());
    return left;
  }

  /** Body bytes of `b` go upstream; returns what follows the body (the next request), if anything. */
  takeBody(b: Buffer): Buffer | undefined {
    if (this.reqDone) return b;
    let end: number;
    if (this.reqMode === 1) {
      end = Math.min(this.reqLeft, b.length);
      this.reqLeft -= end;
      if (this.reqLeft === 0) this.reqDone = true;
    } else {
      try {
        end = this.reqScanner!.feed(b);
      } catch {
        this.abort();
        return undefined;
      }
      if (end < 0) end = b.length;
      else this.reqDone = true;
    }
    const body = end === b.length ? b : b.subarray(0, end);
    if (body.length) this.sendBody(body);
    return end === b.length ? undefined : b.subarray(end);
  }

  private sendBody(b: Buffer): void {
    const up = this.up;
    if (up?.connected && !this.queued.length) {
      this.sentAny = true;
      if (!up.socket.write(b)) this.client.socket.pause();
    } else this.queued.push(b);
  }

  private connect(ep: Endpoint | undefined): void {
    if (!ep) return this.fail(502);
    this.tried.push(ep);
    this.upstream = ep.address;
    const pooled = this.relay.pool.get(ep);
    const up = pooled ?? new UpConn(this.relay.pool, ep.address, ep);
    up.ex = this;
    this.up = up;
    if (pooled) this.upConnected(up);
    else up.socket.setTimeout(this.route.options.connectTimeoutMs);
  }

  upConnected(up: UpConn): void {
    if (up !== this.up) return;
    up.socket.setTimeout(this.route.options.readTimeoutMs);
    const q = this.queued;
    if (q.length) {
      this.queued = [];
      this.sentAny = true;
      up.socket.cork();
      up.socket.write(this.head);
      for (const b of q) up.socket.write(b);
      up.socket.uncork();
    } else up.socket.write(this.head);
  }

  upTimeout(up: UpConn): void {
    if (up !== this.up) return up.destroy();
    if (!up.connected) {
      up.destroy();
      return this.upError(up, Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' }));
    }
    up.destroy();
    this.up = undefined;
    if (this.done) return;
    this.relay.dp.o.metrics?.upstreamError(this.route, 'timeout');
    if (this.headSent) return this.client.destroy();
    this.fail(504);
  }

  upError(up: UpConn, err: NodeJS.ErrnoException): void {
    if (up !== this.up || this.done) return;
    this.up = undefined;
    if (this.headSent) {
      // cut short mid-response: the client sees the connection close, as on the Node path
      this.done = true;
      this.finish();
      return this.client.destroy();
    }
    const connected = up.connected;
    const canRetry = (!connected || (this.reqMode === 0 && idempotent.has(this.method))) && retriable.has(err.code ?? '') && this.tried.length < MAX_TRIES;
    // a pooled socket the upstream closed while idle is not the endpoint's failure
    if (!up.reused || this.rbuf) this.relay.dp.o.metrics?.upstreamError(this.route, connected ? 'reset' : 'connect');
    if (canRetry) {
      if (up.reused && !this.rbuf && this.reqMode === 0 && this.staleRetries++ < 8) {
        // stale keep-alive socket: the same endpoint on a fresh connection
        this.tried.pop();
        return this.connect(this.up0.endpoints.find((e) => e.address === up.address) ?? this.up0.pick(this.tried));
      }
      const next = this.up0.pick(this.tried);
      if (next) return this.connect(next);
    }
    if (this.sentAny && !this.reqDone) this.client.closeAfter = true;
    this.fail(502);
  }

  upEnd(up: UpConn): void {
    if (up !== this.up) return up.destroy();
    if (this.headSent && this.resMode === 3) {
      this.up = undefined;
      up.destroy();
      this.client.socket.write(LAST_CHUNK);
      return this.complete();
    }
    up.destroy();
    this.upError(up, Object.assign(new Error('upstream closed'), { code: 'ECONNRESET' }));
  }

  upData(b: Buffer): void {
    if (this.done) return;
    if (!this.headSent) {
      const buf = this.rbuf ? Buffer.concat([this.rbuf, b]) : b;
      this.rbuf = buf;
      for (;;) {
        const end = this.rbuf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.rbuf.length > MAX_HEAD) this.badUpstream();
          return;
        }
        const h = parseResponseHead(this.rbuf, end);
        if (!h || h.status === 101) return this.badUpstream();
        const rest = this.rbuf.subarray(end + 4);
        if (h.status < 200) {
          // 1xx (100 Continue, 103 Early Hints): not passed on, as on the Node path
          this.rbuf = rest;
          if (!rest.length) return;
          continue;
        }
        this.rbuf = undefined;
        this.status = h.status;
        const te = h.transferEncoding;
        const noBody = this.method === 'HEAD' || h.status === 204 || h.status === 304;
        let framing = '';
        if (noBody) this.resMode = 0;
        else if (te) {
          if (h.contentLength !== undefined) return this.badUpstream();
          if (te === 'chunked' || te.endsWith(', chunked') || te.endsWith(',chunked')) {
            if (te !== 'chunked') return this.badUpstream();
            this.resMode = 2;
            this.resScanner = new ChunkedScanner();
          } else {
            this.resMode = 3;
            this.upReusable = false;
          }
          framing = 'transfer-encoding: chunked\r\n';
        } else if (h.contentLength !== undefined) {
          this.resMode = h.contentLength ? 1 : 0;
          this.resLeft = h.contentLength;
        } else {
          this.resMode = 3;
          this.upReusable = false;
          framing = 'transfer-encoding: chunked\r\n';
        }
        if (h.http10 ? !connectionHas(h.connection, 'keep-alive') : connectionHas(h.connection, 'close')) this.upReusable = false;
        let head = `HTTP/1.1 ${h.status} ${STATUS_CODES[h.status] ?? 'unknown'}\r\n`;
        let hasDate = false;
        for (const [name, value] of h.headers) {
          const lower = name.toLowerCase();
          if (dropResponse.has(lower)) continue;
          if (lower === 'date') hasDate = true;
          head += `${name}: ${value}\r\n`;
        }
        if (!hasDate) head += date();
        head += this.client.closeAfter ? 'connection: close\r\n' : keepAliveLines;
        head += framing + '\r\n';
        this.headSent = true;
        const body = rest.length ? this.bodySlice(rest) : undefined;
        const hb = Buffer.from(head, 'latin1');
        const out = body && body.length ? Buffer.concat([hb, body]) : hb;
        if (!this.client.socket.write(out)) this.up?.socket.pause();
        if (this.resMode === 0 || this.resComplete) {
          if (this.resMode === 0 && rest.length) this.upReusable = false;
          return this.complete();
        }
        return;
      }
    }
    const body = this.bodySlice(b);
    if (body.length && !this.client.socket.write(body)) this.up?.socket.pause();
    if (this.resComplete) this.complete();
  }

  private resComplete = false;

  /** The part of `b` that belongs to the response body (framed for the client), noting its end. */
  private bodySlice(b: Buffer): Buffer {
    switch (this.resMode) {
      case 1: {
        const n = Math.min(this.resLeft, b.length);
        this.resLeft -= n;
        this.bytes += n;
        if (this.resLeft === 0) {
          this.resComplete = true;
          if (n < b.length) this.upReusable = false;
        }
        return n === b.length ? b : b.subarray(0, n);
      }
      case 2: {
        let end: number;
        try {
          end = this.resScanner!.feed(b);
        } catch {
          this.upReusable = false;
          this.resComplete = true;
          this.client.closeAfter = true;
          return b.subarray(0, 0);
        }
        if (end >= 0) {
          this.resComplete = true;
          if (end < b.length) this.upReusable = false;
        } else end = b.length;
        this.bytes += end;
        return end === b.length ? b : b.subarray(0, end);
      }
      case 3:
        this.bytes += b.length;
        return Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`, 'latin1'), b, CRLF]);
      default:
        if (b.length) this.upReusable = false;
        this.resComplete = true;
        return b.subarray(0, 0);
    }
  }

  private badUpstream(): void {
    const up = this.up;
    this.up = undefined;
    up?.destroy();
    this.relay.dp.o.metrics?.upstreamError(this.route, 'reset');
    if (this.sentAny && !this.reqDone) this.client.closeAfter = true;
    this.fail(502);
  }

  /** Answer with one of the ingress's own pages. */
  private fail(status: number): void {
    if (this.done) return;
    const up = this.up;
    this.up = undefined;
    up?.destroy();
    this.status = status;
    const p = errorPage(status);
    if (!this.reqDone) this.client.closeAfter = true;
    const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: text/html\r\ncontent-length: ${p.body.length}\r\n${date()}${this.client.closeAfter ? 'connection: close\r\n' : keepAliveLines}\r\n`;
    this.headSent = true;
    this.client.socket.write(this.method === 'HEAD' ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), p.body]));
    this.bytes = p.body.length;
    this.upReusable = false;
    this.complete();
  }

  private complete(): void {
    if (this.done) return;
    this.done = true;
    const up = this.up;
    this.up = undefined;
    if (up) {
      up.socket.resume();
      if (this.upReusable && this.reqDone && !up.dead) this.relay.pool.release(up);
      else up.destroy();
    }
    if (!this.reqDone) this.client.closeAfter = true;
    this.finish();
    this.client.exchangeDone(this);
  }

  private finish(): void {
    this.relay.dp.finish(this, this.bytes);
  }

  /** The client went away or broke the framing. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    const up = this.up;
    this.up = undefined;
    up?.destroy();
    if (!this.headSent) {
      this.status = 499; // nginx's "client closed request"
      this.finish();
    } else this.finish();
    this.client.destroy();
  }
}

/** One client connection on the fast path. */
class ClientConn {
  buf?: Buffer;
  ex?: Exchange;
  closeAfter = false;
  private headStart = 0;
  private ended = false;
  readonly ip: string;
  readonly localPort: string;
  private readonly onData = (b: Buffer) => this.data(b);
  private readonly onEnd = () => this.end();
  private readonly onTimeout = () => this.destroy();
  private readonly onClose = () => this.closed();
  private readonly onError = () => undefined;
  private readonly onDrain = () => this.ex?.up?.socket.resume();

  constructor(
    private readonly relay: Http1Relay,
    readonly socket: net.Socket,
  ) {
    const a = socket.remoteAddress ?? '';
    this.ip = a.startsWith('::ffff:') ? a.slice(7) : a;
    this.localPort = String(socket.localPort ?? '');
    relay.clients.add(this);
    socket.setNoDelay(true);
    socket.setTimeout(KEEPALIVE_MS);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('timeout', this.onTimeout);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.on('drain', this.onDrain);
  }

  private data(b: Buffer): void {
    if (this.ex) {
      if (!this.ex.reqDone) {
        const rest = this.ex.takeBody(b);
        if (rest) this.stash(rest);
      } else this.stash(b);
      return;
    }
    this.buf = this.buf ? Buffer.concat([this.buf, b]) : b;
    this.next();
  }

  /** Bytes after the current request (pipelining): kept for the Node server. */
  private stash(b: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, b]) : b;
    if (this.buf.length > MAX_HEAD) this.socket.pause();
  }

  /** Start the next request from `buf`, or hand the connection over. */
  private next(): void {
    const b = this.buf!;
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) {
      if (b.length > MAX_HEAD) return this.handOver();
      const now = Date.now();
      if (!this.headStart) this.headStart = now;
      else if (now - this.headStart > HEADERS_TIMEOUT_MS) this.destroy();
      return;
    }
    this.headStart = 0;
    const ex = this.relay.exchange(this, b, end);
    if (!ex) return this.handOver();
    this.ex = ex;
    this.buf = undefined;
    const rest = ex.begin(end + 4 < b.length ? b.subarray(end + 4) : undefined);
    if (rest) this.stash(rest);
  }

  exchangeDone(ex: Exchange): void {
    if (this.ex !== ex) return;
    this.ex = undefined;
    if (this.closeAfter || this.ended) {
      this.detach();
      this.socket.end();
      return;
    }
    // pipelined requests (bytes already here) go to Node's server
    if (this.buf) this.handOver();
  }

  private end(): void {
    this.ended = true;
    if (this.ex && !this.ex.reqDone) return this.ex.abort();
    if (!this.ex) {
      this.detach();
      this.socket.end();
    }
  }

  private closed(): void {
    this.relay.clients.delete(this);
    this.ex?.abort();
  }

  destroy(): void {
    this.detach();
    this.socket.destroy();
  }

  private detach(): void {
    const s = this.socket;
    s.removeListener('data', this.onData);
    s.removeListener('end', this.onEnd);
    s.removeListener('timeout', this.onTimeout);
    s.removeListener('close', this.onClose);
    s.removeListener('error', this.onError);
    s.removeListener('drain', this.onDrain);
    s.on('error', this.onError);
    s.setTimeout(0);
    this.relay.clients.delete(this);
  }

  /** The rest of this connection is Node's http server's, starting with the bytes read so far. */
  private handOver(): void {
    const buf = this.buf;
    this.buf = undefined;
    this.detach();
    this.relay.handOver(this.socket, buf);
  }
}

/**
 * Installs the relay on an http.Server: its 'connection' listener is replaced
 * by one that relays what it can and gives the server every other connection.
 */
export class Http1Relay {
  readonly pool = new UpstreamPool();
  readonly clients = new Set<ClientConn>();
  private readonly nodeConnection: (socket: net.Socket) => void;

  constructor(
    readonly dp: DataPlane,
    private readonly server: http.Server,
  ) {
    const listeners = server.listeners('connection') as ((socket: net.Socket) => void)[];
    if (listeners.length !== 1) throw new Error('relay: unexpected connection listeners');
    this.nodeConnection = listeners[0];
    server.removeListener('connection', this.nodeConnection);
    server.on('connection', (socket: net.Socket) => new ClientConn(this, socket));
  }

  handOver(socket: net.Socket, buf: Buffer | undefined): void {
    this.nodeConnection.call(this.server, socket);
    if (buf?.length) socket.unshift(buf);
    socket.resume();
  }

  /** The exchange for the request head in `b[0..end)`, or undefined when the Node server should answer it. */
  exchange(client: ClientConn, b: Buffer, end: number): Exchange | undefined {
    const h = parseRequestHead(b, end);
    if (!h || h.upgrade || h.expect || h.method === 'CONNECT') return undefined;
    if (h.transferEncoding && (h.transferEncoding !== 'chunked' || h.contentLength !== undefined)) return undefined;
    const conn = h.connection;
    let close = false;
    if (conn) {
      if (conn === 'close') close = true;
      else if (conn !== 'keep-alive') return undefined;
    }
    const hostHeader = h.host!;
    const host = hostName(hostHeader);
    const target = h.target;
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? '' : target.slice(q);
    const dp = this.dp;
    const { vh, route } = matchRoute(dp.table, host, path);
    if (!route) return undefined;
    const o = route.options;
    if (o.allow || o.affinityCookie || o.backendProtocol !== 'HTTP' || o.maxBodyBytes !== undefined) return undefined;
    if (vh?.tls && o.sslRedirect) return undefined;
    const up = dp.upstreams.get(route.backend);
    if (!up || up.endpoints.length === 0) return undefined;
    const reqId = h.requestId || requestId();
    let head = `${h.method} ${rewritePath(route, path, query)} HTTP/1.1\r\nhost: ${hostHeader}\r\n`;
    for (const [name, value] of h.headers) {
      const lower = name.toLowerCase();
      if (lower === 'host' || lower === 'x-request-id' || dropRequest.has(lower)) continue;
      head += `${name}: ${value}\r\n`;
    }
    head += `x-request-id: ${reqId}\r\nx-real-ip: ${client.ip}\r\nx-forwarded-for: ${client.ip}\r\nx-forwarded-host: ${hostHeader}\r\nx-forwarded-port: ${client.localPort}\r\nx-forwarded-proto: http\r\nx-scheme: http\r\n`;
    if (o.rewriteTarget !== undefined) head += `x-original-uri: ${target}\r\n`;
    if (h.transferEncoding) head += 'transfer-encoding: chunked\r\n';
    head += 'connection: keep-alive\r\n\r\n';
    if (close) client.closeAfter = true;
    return new Exchange(client, this, route, up, h.method, path, query, hostHeader, reqId, Buffer.from(head, 'latin1'), h);
  }

  close(): void {
    for (const c of [...this.clients]) c.destroy();
    this.pool.close();
  }
}
