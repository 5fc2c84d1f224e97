// Forwarding of names outside the cluster zone to upstream resolvers (CoreDNS's
// `forward` plugin, simplified): the query goes over UDP to the first
// upstream under a fresh ID; on timeout the next upstream is tried; a
// truncated reply is asked again over TCP when the client came over TCP.
// Replies are matched by ID and by the upstream's address, and handed back
// with the client's ID.
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';

export interface Upstream {
  host: string;
  port: number;
}

/** "host", "host:port", "[v6]:port" or a bare IPv6 address. */
export function parseUpstream(s: string): Upstream | undefined {
  const t = s.trim();
  if (!t) return undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) return net.isIPv6(v6[1]) ? { host: v6[1], port: Number(v6[2] ?? 53) } : undefined;
  if (net.isIPv6(t)) return { host: t, port: 53 };
  const m = /^([^:]+)(?::(\d+))?$/.exec(t);
  if (!m || !net.isIPv4(m[1])) return undefined;
  const port = Number(m[2] ?? 53);
  return port > 0 && port < 65536 ? { host: m[1], port } : undefined;
}

interface Pending {
  packet: Buffer;
  clientId: number;
  tcp: boolean;
  tried: number;
  upstream: Upstream;
  timer: NodeJS.Timeout;
  done: (resp: Buffer | undefined) => void;
}

export class Forwarder {
  private readonly pending = new Map<number, Pending>();
  private sock4?: dgram.Socket;
  private sock6?: dgram.Socket;
  private closed = false;

  constructor(
    readonly upstreams: Upstream[],
    private readonly timeoutMs = 2000,
    /** at most this many queries in flight; more are answered SERVFAIL at once */
    private readonly maxPending = 4096,
  ) {}

  private socket(host: string): dgram.Socket {
    const v6 = net.isIPv6(host);
    let s = v6 ? this.sock6 : this.sock4;
    if (!s) {
      s = dgram.createSocket(v6 ? 'udp6' : 'udp4');
      s.on('message', (msg, rinfo) => this.onReply(msg, rinfo));
      s.on('error', () => undefined); // ICMP errors on an unconnected socket: the timeout retries
      s.unref();
      if (v6) this.sock6 = s;
      else this.sock4 = s;
    }
    return s;
  }

  /** Forward a query (wire bytes); `done` gets the reply with the client's ID, or undefined when no upstream answered. */
  forward(packet: Buffer, tcp: boolean, done: (resp: Buffer | undefined) => void): void {
    if (this.closed || !this.upstreams.length || this.pending.size >= this.maxPending || packet.length < 12) return done(undefined);
    let id = randomInt(65536);
    while (this.pending.has(id)) id = (id + 1) & 0xffff;
    const copy = Buffer.from(packet);
    copy.writeUInt16BE(id, 0);
    const p: Pending = { packet: copy, clientId: packet.readUInt16BE(0), tcp, tried: 0, upstream: this.upstreams[0], timer: undefined as unknown as NodeJS.Timeout, done };
    this.pending.set(id, p);
    this.send(id, p);
  }

  private send(id: number, p: Pending): void {
    p.upstream = this.upstreams[p.tried];
    p.timer = setTimeout(() => {
      p.tried++;
      if (p.tried >= this.upstreams.length || this.closed) this.finish(id, undefined);
      else this.send(id, p);
    }, this.timeoutMs);
    this.socket(p.upstream.host).send(p.packet, p.upstream.port, p.upstream.host);
  }

  private onReply(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (msg.length < 12) return;
    const id = msg.readUInt16BE(0);
    const p = this.pending.get(id);
    if (!p || rinfo.port !== p.upstream.port || rinfo.address !== p.upstream.host) return;
    if (p.tcp && msg[2] & 0x02) {
      // truncated: the client can take a big answer, ask again over TCP
      clearTimeout(p.timer);
      p.timer = setTimeout(() => this.finish(id, undefined), this.timeoutMs);
      this.tcpQuery(p.upstream, p.packet).then(
        (r) => this.finish(id, r ?? msg),
        () => this.finish(id, msg),
      );
      return;
    }
    this.finish(id, msg);
  }

  private finish(id: number, resp: Buffer | undefined): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (resp) {
      resp = Buffer.from(resp);
      resp.writeUInt16BE(p.clientId, 0);
    }
    p.done(resp);
  }

  private tcpQuery(u: Upstream, packet: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const c = net.connect({ host: u.host, port: u.port });
      let buf = Buffer.alloc(0);
      const end = (r: Buffer | undefined) => {
        c.destroy();
        resolve(r);
      };
      c.setTimeout(this.timeoutMs, () => end(undefined));
      c.on('error', () => end(undefined));
      c.on('connect', () => {
        const len = Buffer.allocUnsafe(2);
        len.writeUInt16BE(packet.length);
        c.write(Buffer.concat([len, packet]));
      });
      c.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) end(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      c.on('close', () => resolve(undefined));
    });
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.finish(id, undefined);
    this.sock4?.close();
    this.sock6?.close();
  }
}
