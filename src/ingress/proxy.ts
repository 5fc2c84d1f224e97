// The data plane: one request handler for the HTTP and HTTPS listeners (HTTP/1.1
// and HTTP/2), and one for upgrades (WebSocket). It matches the current route
// table, applies the route's annotations, and forwards to an endpoint over a
// keep-alive pool; a connect failure tries the next endpoint. The route table
// and upstreams are replaced whole on change: a request keeps the objects it
// started with, so nothing in flight is dropped.
import http, { type IncomingMessage, type ServerResponse, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import { randomFillSync } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { buildRouteTable, matchRoute, rewritePath, type Route, type RouteTable, type VirtualHost } from './routeTable.js';
import { Upstream, type Endpoint } from './upstreams.js';
import { errorPage, rawErrorResponse } from './errorPages.js';
import type { IngressMetrics } from './metrics.js';

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;
export type Scheme = 'http' | 'https';

export interface DataPlaneOptions {
  log?: Logger;
  /** one info line per request; off when the logger's level is above info */
  accessLog?: Logger;
  metrics?: IngressMetrics;
  /** the HTTPS port redirects point at (omitted from the URL when 443) */
  httpsPort(): number;
}

// hop-by-hop headers (RFC 9110 §7.6.1) and ones HTTP/2 forbids; the x-forwarded family is set by us
export const dropRequest = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip']);
export const dropResponse = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
export const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
export const retriable = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'ECONNECT_TIMEOUT', 'EADDRNOTAVAIL']);
export const MAX_TRIES = 3;

/** The Host header without its port, lower-case. */
export function hostName(hostHeader: string): string {
  let host = hostHeader;
  if (host.charCodeAt(0) === 91 /* [ */) host = host.slice(0, host.indexOf(']') + 1);
  else {
    const c = host.indexOf(':');
    if (c >= 0) host = host.slice(0, c);
  }
  return host.toLowerCase();
}

// X-Request-ID: 32 hex digits (as nginx's $request_id) cut from a pool of random bytes refilled 4 KiB at a time
const idPool = Buffer.alloc(4096);
let idOffset = idPool.length;
export function requestId(): string {
  if (idOffset === idPool.length) {
    randomFillSync(idPool);
    idOffset = 0;
  }
  idOffset += 16;
  return idPool.toString('hex', idOffset - 16, idOffset);
}

/** A JSON string literal; plain ASCII without quotes or backslashes (almost every value here) skips JSON.stringify. */
function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c > 126 || c === 34 || c === 92) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function clientIp(req: Req): string {
  const a = req.socket?.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** What the access log and metrics need of one request (the relay's exchanges have it too). */
export interface RequestRecord {
  start: number;
  route?: Route;
  status: number;
  ip: string;
  hostHeader: string;
  method: string;
  path: string;
  query: string;
  upstream?: string;
  reqId: string;
}

interface Ctx extends RequestRecord {
  req: Req;
  scheme: Scheme;
  host: string;
  vh?: VirtualHost;
  /** answered (or given up): later events of the request are ignored */
  done: boolean;
  /** the current upstream request */
  ureq?: http.ClientRequest;
  /** the upstream response being relayed (its headers were sent) */
  ures?: IncomingMessage;
  /** body bytes relayed (counted for the access log only) */
  bytes: number;
}

export class DataPlane {
  table: RouteTable = buildRouteTable([]);
  readonly upstreams = new Map<string, Upstream>();
  readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: 'lifo', timeout: 4_000 });
  // backend-protocol HTTPS: like ingress-nginx (proxy_ssl_verify off), upstream certificates are not verified
  readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, scheduling: 'lifo', timeout: 4_000, rejectUnauthorized: false });
  private readonly accessOn: boolean;
  /** the access logger's destination and bindings: lines are written as pino would, without its per-call object walk */
  private readonly accessStream?: { write(s: string): unknown };
  private readonly accessBindings: string = '';

  constructor(readonly o: DataPlaneOptions) {
    this.accessOn = !!o.accessLog?.isLevelEnabled('info');
    const l = o.accessLog as unknown as Record<symbol, unknown> | undefined;
    const stream = l?.[pino.symbols.streamSym] as { write(s: string): unknown } | undefined;
    if (this.accessOn && typeof stream?.write === 'function' && typeof l?.[pino.symbols.chindingsSym] === 'string') {
      this.accessStream = stream;
      this.accessBindings = l[pino.symbols.chindingsSym] as string;
    }
  }

  /** The upstream object for a backend key (kept across updates). */
  upstream(key: string): Upstream {
    let u = this.upstreams.get(key);
    if (!u) this.upstreams.set(key, (u = new Upstream(key)));
    return u;
  }

  /** Request handler for a listener of the given scheme. */
  handler(scheme: Scheme): (req: Req, res: Res) => void {
    return (req, res) => this.handle(req, res, scheme);
  }

  /** 'upgrade' handler (WebSocket) for a listener of the given scheme. */
  upgradeHandler(scheme: Scheme): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
    return (req, socket, head) => this.handleUpgrade(req, socket, head, scheme);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private context(req: Req, scheme: Scheme): Ctx {
    const headers = req.headers;
    const hostHeader = (headers[':authority'] as string | undefined) ?? headers.host ?? '';
    const host = hostName(hostHeader);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q);
    const { vh, route } = matchRoute(this.table, host, path);
    const id = headers['x-request-id'];
    return { req, scheme, start: performance.now(), method: req.method ?? '', host, hostHeader, path, query, route, vh, reqId: typeof id === 'string' && id ? id : requestId(), ip: clientIp(req), status: 0, done: false, ureq: undefined, ures: undefined, bytes: 0 };
  }

  /** The answer the ingress gives itself (404 / 403 / 308 / 413) before any upstream, or undefined to proxy. */
  private precheck(ctx: Ctx): { status: number; location?: string } | undefined {
    const r = ctx.route;
    if (!r) return { status: 404 };
    const allow = r.options.allow;
    if (allow && !allow.check(ctx.ip, ctx.ip.includes(':') ? 'ipv6' : 'ipv4')) return { status: 403 };
    if (ctx.scheme === 'http' && ctx.vh?.tls && r.options.sslRedirect) {
      const port = this.o.httpsPort();
      return { status: 308, location: `https://${ctx.host.includes(':') && !ctx.host.startsWith('[') ? `[${ctx.host}]` : ctx.host}${port === 443 ? '' : `:${port}`}${ctx.path}${ctx.query}` };
    }
    const max = r.options.maxBodyBytes;
    if (max !== undefined && Number(ctx.req.headers['content-length'] ?? 0) > max) return { status: 413 };
    return undefined;
  }

  /** The upstream request's headers as a flat [name, value, …] list (node writes it without per-header bookkeeping). */
  private headersFor(ctx: Ctx, upgrade?: string): string[] {
    const src = ctx.req.headers as IncomingHttpHeaders;
    const out: string[] = ['host', ctx.hostHeader];
    for (const k in src) {
      if (k === 'host' || k === 'x-request-id' || k.charCodeAt(0) === 58 /* ':' pseudo-header */ || dropRequest.has(k)) continue;
      const v = src[k];
      if (v === undefined) continue;
      if (typeof v === 'string') out.push(k, v);
      else for (const x of v) out.push(k, x);
    }
    // the client's address only: a client-sent X-Forwarded-For is not trusted (ingress-nginx's default)
    out.push('x-request-id', ctx.reqId, 'x-real-ip', ctx.ip, 'x-forwarded-for', ctx.ip, 'x-forwarded-host', ctx.hostHeader, 'x-forwarded-port', String(ctx.req.socket?.localPort ?? ''), 'x-forwarded-proto', ctx.scheme, 'x-scheme', ctx.scheme);
    if (upgrade) out.push('connection', 'Upgrade', 'upgrade', upgrade);
    if (ctx.route?.options.rewriteTarget !== undefined) out.push('x-original-uri', ctx.path + ctx.query);
    return out;
  }

  private affinityCookie(ctx: Ctx): string | undefined {
    const name = ctx.route?.options.affinityCookie;
    const cookie = ctx.req.headers.cookie;
    if (!name || !cookie) return undefined;
    for (const part of cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
    return undefined;
  }

  /** metrics + the access line for one answered request */
  finish(ctx: RequestRecord, bytes?: number): void {
    const seconds = (performance.now() - ctx.start) / 1000;
    this.o.metrics?.observe(ctx.route, ctx.status, seconds);
    if (!this.accessOn) return;
    if (this.accessStream) {
      // the line pino would write for the object below (level 30 = info)
      const r = ctx.route;
      this.accessStream.write(
        `{"level":30,"time":${Date.now()}${this.accessBindings},"remote":${jsonString(ctx.ip)},"host":${jsonString(ctx.hostHeader)},"method":${jsonString(ctx.method)},"uri":${jsonString(ctx.path + ctx.query)},"status":${ctx.status}${bytes === undefined ? '' : `,"bytes":${bytes}`},"ms":${Math.round(seconds * 1e4) / 10}${ctx.upstream === undefined ? '' : `,"upstream":${jsonString(ctx.upstream)}`}${r?.ingress ? `,"ingress":${jsonString(r.ingress)}` : ''},"id":${jsonString(ctx.reqId)}}\n`,
      );
    } else
      this.o.accessLog!.info({ remote: ctx.ip, host: ctx.hostHeader, method: ctx.method, uri: ctx.path + ctx.query, status: ctx.status, bytes, ms: Math.round(seconds * 1e4) / 10, upstream: ctx.upstream, ingress: ctx.route?.ingress || undefined, id: ctx.reqId });
  }

  private reply(ctx: Ctx, res: Res, status: number, extra?: Record<string, string>): void {
    const p = errorPage(status);
    ctx.done = true;
    ctx.status = status;
    if (!res.headersSent) {
      res.writeHead(status, extra ? { ...p.headers, ...extra } : p.headers);
      if (ctx.req.method === 'HEAD') res.end();
      else res.end(p.body);
    } else res.destroy();
    this.finish(ctx, p.body.length);
  }

  private handle(req: Req, res: Res, scheme: Scheme): void {
    const ctx = this.context(req, scheme);
    const pre = this.precheck(ctx);
    if (pre) {
      this.reply(ctx, res, pre.status, pre.location ? { location: pre.location } : undefined);
      return;
    }
    const route = ctx.route!;
    const up = this.upstreams.get(route.backend);
    if (!up || up.endpoints.length === 0) {
      this.o.metrics?.upstreamError(route, 'no_endpoints');
      this.o.log?.debug({ backend: route.backend, reason: up?.reason }, 'no endpoints');
      this.reply(ctx, res, 503);
      return;
    }
    const cl = req.headers['content-length'];
    const h2 = (req as Http2ServerRequest).stream !== undefined;
    const hasBody = cl !== undefined ? cl !== '0' : req.headers['transfer-encoding'] !== undefined || (h2 && !(req as Http2ServerRequest).stream.endAfterHeaders);
    const cookie = this.affinityCookie(ctx);
    const sticky = up.byAffinity(cookie);
    res.once('close', () => {
      const ures = ctx.ures;
      if (ures) {
        // the response was relayed (or cut short)
        if (!ures.complete) ctx.ureq?.destroy();
        this.finish(ctx, ctx.bytes);
        return;
      }
      if (ctx.done) return;
      // the client went away before the upstream answered
      ctx.done = true;
      ctx.ureq?.destroy();
      ctx.status = 499; // nginx's "client closed request"
      this.finish(ctx);
    });
    this.attempt(ctx, res, up, sticky ?? up.pick(), [], hasBody, !!route.options.affinityCookie && !sticky);
  }

  private attempt(ctx: Ctx, res: Res, up: Upstream, ep: Endpoint | undefined, tried: Endpoint[], hasBody: boolean, setCookie: boolean): void {
    const route = ctx.route!;
    const req = ctx.req;
    if (!ep) {
      this.reply(ctx, res, 502);
      return;
    }
    tried.push(ep);
    ctx.upstream = ep.address;
    const opts = route.options;
    const secure = opts.backendProtocol === 'HTTPS';
    const ureq = (secure ? https : http).request({
      host: ep.ip,
      port: ep.port,
      method: req.method,
      path: rewritePath(route, ctx.path, ctx.query),
      headers: this.headersFor(ctx),
      agent: secure ? this.httpsAgent : this.httpAgent,
      servername: secure ? ctx.host : undefined,
    });
    ctx.ureq = ureq;
    let connected = false;
    let connectTimer: NodeJS.Timeout | undefined;
    const sendBody = () => {
      connected = true;
      if (connectTimer) clearTimeout(connectTimer);
      if (!hasBody) {
        ureq.end();
        return;
      }
      const max = opts.maxBodyBytes;
      if (max !== undefined) {
        let n = 0;
        req.on('data', (c: Buffer) => {
          n += c.length;
          if (n > max && !ctx.done) {
            req.unpipe(ureq);
            ureq.destroy();
            this.reply(ctx, res, 413);
          }
        });
      }
      req.pipe(ureq);
    };
    ureq.once('socket', (s) => {
      if ((s as unknown as { connecting: boolean }).connecting) {
        connectTimer = setTimeout(() => ureq.destroy(Object.assign(new Error('connect timeout'), { code: 'ECONNECT_TIMEOUT' })), opts.connectTimeoutMs);
        s.once('connect', sendBody);
      } else sendBody();
    });
    ureq.setTimeout(opts.readTimeoutMs, () => {
      if (ctx.done) return;
      this.o.metrics?.upstreamError(route, 'timeout');
      ureq.destroy();
      this.reply(ctx, res, 504);
    });
    ureq.on('response', (ures) => {
      if (ctx.done) {
        ures.resume();
        return;
      }
      ctx.done = true;
      ctx.status = ures.statusCode ?? 502;
      try {
        if ((res as Http2ServerResponse).stream === undefined) {
          // HTTP/1.1: the upstream's header lines as they came (minus hop-by-hop ones), no header object built
          const raw = ures.rawHeaders;
          const lines: string[] = [];
          for (let i = 0; i < raw.length; i += 2) if (!dropResponse.has(raw[i].toLowerCase())) lines.push(raw[i], raw[i + 1]);
          if (setCookie) lines.push('set-cookie', `${opts.affinityCookie}=${ep.cookie}; Path=/; HttpOnly`);
          (res as ServerResponse).writeHead(ctx.status, lines);
        } else {
          const headers: OutgoingHttpHeaders = {};
          const src = ures.headers;
          for (const k in src) if (!dropResponse.has(k)) headers[k] = src[k];
          if (setCookie) {
            const c = `${opts.affinityCookie}=${ep.cookie}; Path=/; HttpOnly`;
            const prev = headers['set-cookie'];
            headers['set-cookie'] = prev === undefined ? [c] : [...(Array.isArray(prev) ? prev : [String(prev)]), c];
          }
          res.writeHead(ctx.status, headers);
        }
      } catch (e) {
        // a header the client's protocol cannot carry (HTTP/2 is strict): answer 502 rather than crash
        this.o.log?.debug({ err: (e as Error).message }, 'bad upstream header');
        ures.resume();
        this.reply(ctx, res, 502);
        return;
      }
      ctx.ures = ures;
      // relay the body (what pipe() does, without its per-request listener bookkeeping)
      const out = res as NodeJS.WritableStream & { once(e: 'drain', f: () => void): unknown };
      const resume = () => ures.resume();
      ures.on('data', (c: Buffer) => {
        ctx.bytes += c.length;
        if (!out.write(c)) {
          ures.pause();
          out.once('drain', resume);
        }
      });
      ures.on('end', () => out.end());
      ures.on('error', () => res.destroy());
    });
    ureq.on('error', (err: NodeJS.ErrnoException) => {
      if (connectTimer) clearTimeout(connectTimer);
      if (ctx.done || ctx.ureq !== ureq) return;
      const canRetry = (!connected || (!hasBody && idempotent.has(req.method ?? ''))) && retriable.has(err.code ?? '') && tried.length < MAX_TRIES;
      this.o.metrics?.upstreamError(route, connected ? 'reset' : 'connect');
      this.o.log?.debug({ upstream: ep.address, err: err.message, retry: canRetry }, 'upstream error');
      if (canRetry) {
        const next = up.pick(tried);
        if (next) {
          this.attempt(ctx, res, up, next, tried, hasBody, setCookie);
          return;
        }
      }
      this.reply(ctx, res, 502);
    });
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: Scheme): void {
    const ctx = this.context(req, scheme);
    socket.on('error', () => socket.destroy());
    const fail = (status: number) => {
      ctx.status = status;
      socket.end(rawErrorResponse(status));
      this.finish(ctx);
    };
    const pre = this.precheck(ctx);
    if (pre) {
      if (pre.location) {
        ctx.status = 308;
        socket.end(`HTTP/1.1 308 Permanent Redirect\r\nlocation: ${pre.location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
        this.finish(ctx);
      } else fail(pre.status);
      return;
    }
    const route = ctx.route!;
    const up = this.upstreams.get(route.backend);
    if (!up || up.endpoints.length === 0) {
      this.o.metrics?.upstreamError(route, 'no_endpoints');
      fail(503);
      return;
    }
    const tried: Endpoint[] = [];
    const go = (ep: Endpoint | undefined) => {
      if (!ep) return fail(502);
      tried.push(ep);
      ctx.upstream = ep.address;
      const secure = route.options.backendProtocol === 'HTTPS';
      const ureq = (secure ? https : http).request({ host: ep.ip, port: ep.port, method: req.method, path: rewritePath(route, ctx.path, ctx.query), headers: this.headersFor(ctx, String(req.headers.upgrade)), agent: false, rejectUnauthorized: false, servername: secure ? ctx.host : undefined });
      let answered = false;
      ureq.on('upgrade', (ures, usock, uhead) => {
        answered = true;
        ctx.status = 101;
        let lines = `HTTP/1.1 101 Switching Protocols\r\n`;
        for (let i = 0; i < ures.rawHeaders.length; i += 2) lines += `${ures.rawHeaders[i]}: ${ures.rawHeaders[i + 1]}\r\n`;
        socket.write(lines + '\r\n');
        if (uhead.length) socket.write(uhead);
        if (head.length) usock.write(head);
        usock.on('error', () => socket.destroy());
        socket.on('error', () => usock.destroy());
        usock.on('close', () => socket.destroy());
        socket.on('close', () => usock.destroy());
        usock.pipe(socket).pipe(usock);
        this.finish(ctx);
      });
      ureq.on('response', (ures) => {
        // the upstream refused the upgrade: pass its answer on
        answered = true;
        ctx.status = ures.statusCode ?? 502;
        let lines = `HTTP/1.1 ${ures.statusCode} ${ures.statusMessage}\r\n`;
        for (let i = 0; i < ures.rawHeaders.length; i += 2) if (!dropResponse.has(ures.rawHeaders[i].toLowerCase())) lines += `${ures.rawHeaders[i]}: ${ures.rawHeaders[i + 1]}\r\n`;
        socket.write(`${lines}connection: close\r\n\r\n`);
        ures.pipe(socket);
        this.finish(ctx);
      });
      ureq.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return socket.destroy();
        this.o.metrics?.upstreamError(route, 'connect');
        if (retriable.has(err.code ?? '') && tried.length < MAX_TRIES) return go(up.pick(tried));
        fail(502);
      });
      ureq.end();
    };
    go(up.byAffinity(this.affinityCookie(ctx)) ?? up.pick());
  }
}
