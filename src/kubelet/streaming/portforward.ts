// port-forward streaming. kubectl speaks SPDY (streams with `streamtype`
// data/error, `port`, `requestID` headers), either directly after an HTTP
// upgrade or tunnelled inside WebSocket binary messages (subprotocol
// SPDY/3.1+portforward.k8s.io). The runtime speaks the same SPDY protocol, so
// the kubelet never parses it: it carries the bytes between the two.
import type { WebSocket } from 'ws';
import type { Duplex } from 'node:stream';
import { dialUpgrade, type DialResult } from '../../client/upgrade.js';

export const wsPortForwardProtocol = 'SPDY/3.1+portforward.k8s.io';
export const spdyPortForwardProtocol = 'portforward.k8s.io';

/** SPDY upgrade to the runtime's port-forward URL. */
export function dialRuntimePortForward(url: string): Promise<DialResult> {
  return dialUpgrade({
    url,
    method: 'POST',
    headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': spdyPortForwardProtocol },
  });
}

/** Carries SPDY bytes between a WebSocket (one binary message per write) and the runtime's socket. */
export function tunnelWebSocket(ws: WebSocket, socket: Duplex, head?: Buffer): Promise<void> {
  if (head?.length) ws.send(head, { binary: true });
  socket.on('data', (d: Buffer) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(d, { binary: true });
    // backpressure: stop reading from the runtime while the client lags
    if (ws.bufferedAmount > 8 << 20) {
      socket.pause();
      const resume = setInterval(() => {
        if (ws.readyState !== ws.OPEN || ws.bufferedAmount < 1 << 20) {
          clearInterval(resume);
          socket.resume();
        }
      }, 20);
    }
  });
  ws.on('message', (raw: Buffer | ArrayBuffer | Buffer[]) => {
    const m = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (!socket.destroyed) socket.write(m);
  });
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (ws.readyState === ws.OPEN) ws.close(1000);
      socket.destroy();
      resolve();
    };
    socket.on('close', finish);
    socket.on('error', finish);
    ws.on('close', finish);
    ws.on('error', finish);
  });
}
