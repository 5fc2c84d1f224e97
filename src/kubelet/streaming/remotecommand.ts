// exec/attach streaming: kubectl's WebSocket channel protocol (v5/v4) on one
// side, the runtime's SPDY remotecommand (v4) on the other. SPDY toward
// containerd because its WebSocket v4 cannot half-close stdin, and v5 clients
// signal stdin EOF (`echo hi | kubectl exec -i … -- sort` must terminate).
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { dialUpgrade, type DialResult } from '../../client/upgrade.js';
import { SpdyClientSession, type SpdyStream } from './spdy.js';

/** Channel numbers of the WebSocket protocols. */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** WebSocket subprotocols we serve, best first. */
export const wsRemoteCommandProtocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export interface StreamFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The first protocol the client offered that we speak (client preference order). */
export function pickWsProtocol(offered: Iterable<string>, supported = wsRemoteCommandProtocols): string | false {
  for (const p of offered) if (supported.includes(p)) return p;
  return false;
}

export const successStatus = JSON.stringify({ metadata: {}, status: 'Success' });

export interface RuntimeSession {
  session: SpdyClientSession;
  error: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

/**
 * Upgrades to SPDY at the runtime's streaming URL and opens the streams the
 * request asked for (error first, as the protocol wants). Resolves with the
 * streams, or with the runtime's non-101 answer.
 */
export async function dialRuntimeRemoteCommand(url: string, flags: StreamFlags): Promise<RuntimeSession | { failed: DialResult['res'] }> {
  const r = await dialUpgrade({
    url,
    method: 'POST',
    headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
  });
  if (!r.socket) return { failed: r.res };
  if (r.head?.length) r.socket.unshift(r.head);
  const session = new SpdyClientSession(r.socket);
  const open = (t: string) => session.createStream({ streamtype: t });
  const out: RuntimeSession = { session, error: open('error') };
  if (flags.stdin) out.stdin = open('stdin');
  if (flags.stdout) out.stdout = open('stdout');
  if (flags.stderr && !flags.tty) out.stderr = open('stderr');
  if (flags.tty) out.resize = open('resize');
  return out;
}

/**
 * Bridges an accepted WebSocket (protocol v5 or v4) to runtime streams until
 * the command ends (the runtime closes its session) or the client goes away.
 */
export function bridgeWebSocket(ws: WebSocket, rt: RuntimeSession, log?: Logger): Promise<void> {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const errChunks: Buffer[] = [];
  const send = (ch: number, data: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([ch]), data]), { binary: true });
  };
  rt.stdout?.on('data', (d: Buffer) => send(Channel.stdout, d));
  rt.stderr?.on('data', (d: Buffer) => send(Channel.stderr, d));
  rt.error.on('data', (d: Buffer) => errChunks.push(d));
  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[]) => {
    const m = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (!m.length) return;
    const ch = m[0];
    const data = m.subarray(1);
    if (ch === Channel.stdin) {
      if (data.length) rt.stdin?.write(data);
    } else if (ch === Channel.resize) {
      if (data.length) rt.resize?.write(data);
    } else if (ch === Channel.close && v5) {
      if (data[0] === Channel.stdin) rt.stdin?.end();
    }
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = (why: string) => {
      if (done) return;
      done = true;
      log?.debug({ why }, 'remotecommand stream ends');
      if (ws.readyState === ws.OPEN) {
        const status = Buffer.concat(errChunks);
        send(Channel.error, status.length ? status : Buffer.from(successStatus));
        ws.close(1000);
      }
      rt.session.close();
      resolve();
    };
    rt.session.on('close', () => finish('runtime closed the session'));
    ws.on('close', () => finish('client closed the websocket'));
    ws.on('error', () => finish('websocket error'));
  });
}
