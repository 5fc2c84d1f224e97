// HTTP upgrade plumbing shared by the kubelet and the apiserver proxy (so it
// lives here, not in either component): dial an
// upgrade (SPDY or WebSocket) to a backend, relay the backend's answer to a
// raw client socket, splice two sockets, and answer errors on raw sockets.
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export interface DialResult {
  /** the backend's answer (101 when upgraded) */
  res: IncomingMessage;
  /** the upgraded socket, when res.statusCode is 101 */
  socket?: Duplex;
  /** bytes the backend sent right after its 101 head */
  head?: Buffer;
}

export interface DialOptions {
  url: string;
  method?: string;
  headers: Record<string, string | string[]>;
  /** TLS client identity and trust for https URLs */
  tls?: { cert?: string; key?: string; ca?: string; rejectUnauthorized?: boolean };
  timeoutMs?: number;
}

/** Sends an upgrade request; resolves with the backend's 101 and socket, or its other answer. */
export function dialUpgrade(o: DialOptions): Promise<DialResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(o.url);
    const isTls = u.protocol === 'https:' || u.protocol === 'wss:';
    const mod = isTls ? https : http;
    const req = mod.request({
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port || (isTls ? 443 : 80),
      path: u.pathname + u.search,
      method: o.method ?? 'GET',
      headers: o.headers,
      agent: false,
      ...(isTls ? { cert: o.tls?.cert, key: o.tls?.key, ca: o.tls?.ca, rejectUnauthorized: o.tls?.rejectUnauthorized ?? true } : {}),
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${u.host} in ${(o.timeoutMs ?? 30_000) / 1000}s`)), o.timeoutMs ?? 30_000);
    req.on('upgrade', (res, socket, head) => {
      clearTimeout(timer);
      resolve({ res, socket, head });
    });
    req.on('response', (res) => {
      clearTimeout(timer);
      resolve({ res });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

/** `host:port`, with an IPv6 host in brackets. */
export const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * Finishes proxying an upgrade request on the client's raw `socket`: the
 * backend's non-101 answer is relayed and the socket closed; a 101 is written
 * back, the bytes read on either side so far are passed on, and the two
 * sockets are spliced.
 */
export function completeUpgrade(socket: Duplex, clientHead: Buffer, r: DialResult): void {
  if (!r.socket) return relayResponse(socket, r.res);
  writeResponseHead(socket, r.res);
  if (r.head?.length) socket.write(r.head);
  if (clientHead.length) r.socket.write(clientHead);
  splice(socket, r.socket);
}

/** Writes a response head (status line + raw headers) for `res` to a raw socket. */
export function writeResponseHead(socket: Duplex, res: IncomingMessage, drop: string[] = []): void {
  const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage || http.STATUS_CODES[res.statusCode ?? 500] || ''}`];
  const skip = new Set(drop.map((d) => d.toLowerCase()));
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    if (!skip.has(res.rawHeaders[i]!.toLowerCase())) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
  }
  socket.write(lines.join('\r\n') + '\r\n\r\n');
}

/** Relays a non-101 answer (head and body) to a raw client socket, then closes it. */
export function relayResponse(socket: Duplex, res: IncomingMessage): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (c: Buffer) => {
    if (size < 1 << 20) chunks.push(c);
    size += c.length;
  });
  res.on('end', () => {
    const body = Buffer.concat(chunks);
    const type = res.headers['content-type'] ?? 'text/plain';
    socket.end(`HTTP/1.1 ${res.statusCode} ${http.STATUS_CODES[res.statusCode ?? 500] ?? ''}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` + body.toString('latin1'), 'latin1');
  });
  res.on('error', () => socket.destroy());
}

/** A Kubernetes Status as a raw HTTP answer on a socket that was never upgraded. */
export function writeStatusError(socket: Duplex, code: number, reason: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  socket.end(`HTTP/1.1 ${code} ${http.STATUS_CODES[code] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Splices two sockets until either side closes. */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const destroy = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroy);
  b.on('error', destroy);
  a.on('close', () => b.end());
  b.on('close', () => a.end());
}

/** Request headers to forward to a backend: everything but credentials, Host and framing. */
export function forwardHeaders(req: IncomingMessage, drop: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const skip = new Set(['authorization', 'host', 'content-length', 'transfer-encoding', 'impersonate-user', 'impersonate-group', ...drop.map((d) => d.toLowerCase())]);
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !skip.has(k)) out[k] = v;
  return out;
}
