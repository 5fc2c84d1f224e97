// The two listeners of the data plane: plain HTTP, and HTTPS (TLS with the SNI
// certificate store; HTTP/2 and HTTP/1.1 by ALPN). Both hand requests and
// upgrades (WebSocket) to the same DataPlane.
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { DataPlane } from './proxy.js';
import type { CertificateStore } from './certificates.js';
import { Http1Relay } from './relay.js';

export interface Listeners {
  plain: http.Server;
  secure: http2.Http2SecureServer;
  /** stop accepting, drop open connections */
  close(): Promise<void>;
}

export interface ListenerOptions {
  /** plain HTTP/1.1 through the hand-written relay (relay.ts) instead of Node's http server where it can */
  relay?: boolean;
}

/** Whether the relay is on when not said: K8TS_INGRESS_RELAY=1|0, else the default. */
export const relayDefault = process.env.K8TS_INGRESS_RELAY ? process.env.K8TS_INGRESS_RELAY === '1' : false;

export function createListeners(dataPlane: DataPlane, certs: CertificateStore, lo: ListenerOptions = {}): Listeners {
  // keep-alive like nginx's (75 s); headersTimeout bounds slow-loris clients
  const plain = http.createServer({ keepAliveTimeout: 75_000, headersTimeout: 60_000, requestTimeout: 0 }, dataPlane.handler('http'));
  plain.on('upgrade', dataPlane.upgradeHandler('http'));
  plain.on('clientError', (_e, socket) => socket.destroy());
  const relay = (lo.relay ?? relayDefault) ? new Http1Relay(dataPlane, plain) : undefined;
  const secure = http2.createSecureServer({ allowHTTP1: true, SNICallback: certs.sniCallback, secureContext: certs.fallback, settings: { maxConcurrentStreams: 250 } } as http2.SecureServerOptions, dataPlane.handler('https') as never);
  secure.on('upgrade', dataPlane.upgradeHandler('https'));
  secure.on('tlsClientError', () => undefined);
  secure.setTimeout(75_000);
  const sockets = new Set<Socket>();
  secure.on('secureConnection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return {
    plain,
    secure,
    async close() {
      const close = (s: Server) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()));
      const closing = Promise.all([close(plain), close(secure)]);
      plain.closeAllConnections();
      relay?.close();
      // TLS sockets (and the HTTP/2 sessions on them) do not close on their own
      for (const s of sockets) s.destroy();
      await closing;
    },
  };
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
