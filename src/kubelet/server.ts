// The kubelet API: HTTPS on its own port (10250 by default), the paths the
// apiserver proxies to: /containerLogs, /exec, /attach, /portForward, and
// /healthz. Callers present a client certificate signed by the cluster CA; the
// kubelet asks the apiserver (SubjectAccessReview on nodes/proxy) whether they
// may, except for system:masters, which may do anything.
import https from 'node:https';
import { webcrypto, KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { resolve as resolvePath, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CriClient } from './cri/client.js';
import type { Container, PodSandbox } from './cri/types.js';
import { streamLog, type LogOptions } from './logs.js';
import { bridgeWebSocket, dialRuntimeRemoteCommand, pickWsProtocol, type StreamFlags } from './streaming/remotecommand.js';
import { dialRuntimePortForward, tunnelWebSocket, wsPortForwardProtocol } from './streaming/portforward.js';
import { dialUpgrade, relayResponse, splice, writeResponseHead, writeStatusError } from '../client/upgrade.js';

/** What the kubelet needs from an API client to authorize callers. */
export interface AuthzClient {
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export interface KubeletServerOptions {
  cri: CriClient;
  /** where pod log directories live; when set, only log files under it are served */
  logsDir?: string;
  /** 0 picks a free port; the default is 10250 */
  port?: number;
  /** when `port` is in use, listen on a free port instead of failing */
  fallbackToFreePort?: boolean;
  /** default 0.0.0.0, as upstream; the in-server agent uses 127.0.0.1 */
  bindAddress?: string;
  /** serving certificate and key, and the CA that signs callers' client certificates */
  tls: { cert: string; key: string; ca: string };
  /** asks the apiserver whether a (non-master) caller may use this node's API */
  apiClientForAuthz?: AuthzClient;
  nodeName?: string;
  log?: Logger;
  /** more GET endpoints by exact path (e.g. '/stats/summary'), served after authorization */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>;
}

export interface KubeletServer {
  port: number;
  stop(): Promise<void>;
}

interface Caller {
  username: string;
  groups: string[];
}

class HttpError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
  }
}
const badRequest = (m: string) => new HttpError(400, 'BadRequest', m);
const notFound = (m: string) => new HttpError(404, 'NotFound', m);

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  if (res.headersSent) return void res.end();
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const truthy = (v: string | null) => v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';

/** Pod and container lookup through the runtime: sandbox and container metadata carry the names. */
export class RuntimeLookup {
  constructor(private readonly cri: CriClient) {}

  /** The pod's sandboxes, ready and newest first. */
  async sandboxes(ns: string, pod: string, uid?: string): Promise<PodSandbox[]> {
    const all = await this.cri.listPodSandbox();
    return all
      .filter((s) => s.metadata?.namespace === ns && s.metadata?.name === pod && (!uid || s.metadata?.uid === uid))
      .sort((a, b) => (a.state === b.state ? cmpNanos(b.createdAt, a.createdAt) : a.state === 'SANDBOX_READY' ? -1 : 1));
  }

  /** The named container's instances in the pod, newest first. */
  async containers(ns: string, pod: string, name: string, uid?: string): Promise<{ sandboxes: PodSandbox[]; containers: Container[] }> {
    const sandboxes = await this.sandboxes(ns, pod, uid);
    const containers: Container[] = [];
    for (const s of sandboxes) {
      for (const c of await this.cri.listContainers({ podSandboxId: s.id })) if (c.metadata?.name === name) containers.push(c);
    }
    containers.sort((a, b) => (b.metadata?.attempt ?? 0) - (a.metadata?.attempt ?? 0) || cmpNanos(b.createdAt, a.createdAt));
    return { sandboxes, containers };
  }

  async current(ns: string, pod: string, name: string, uid?: string): Promise<Container> {
    const { sandboxes, containers } = await this.containers(ns, pod, name, uid);
    if (!sandboxes.length) throw notFound(`pod "${pod}" in namespace "${ns}" has no containers on this node`);
    if (!containers.length) throw badRequest(`container "${name}" in pod "${pod}" is waiting to start: ContainerCreating`);
    return containers[0]!;
  }
}

function cmpNanos(a: string, b: string): number {
  const x = BigInt(a || '0');
  const y = BigInt(b || '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * A self-signed serving certificate for the kubelet API, as upstream's kubelet
 * makes when none is configured (the apiserver does not verify kubelets'
 * serving certificates unless told to).
 */
export async function selfSignedServingCert(nodeName: string, addresses: string[] = []): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = Date.now();
  const names = [
    ...[nodeName, 'localhost'].map((value) => ({ type: 'dns' as const, value })),
    ...[...new Set(['127.0.0.1', ...addresses])].filter((a) => isIP(a)).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${nodeName}@${Math.floor(now / 1000)}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
    ],
  });
  const key = KeyObject.from(keys.privateKey as unknown as webcrypto.CryptoKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { cert: cert.toString('pem'), key };
}

export async function startKubeletServer(o: KubeletServerOptions): Promise<KubeletServer> {
  const log = o.log;
  const lookup = new RuntimeLookup(o.cri);
  const sockets = new Set<Duplex>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // the protocol was chosen before the upgrade was accepted
    handleProtocols: (_protocols, req) => (req as IncomingMessage & { k8tsProtocol?: string }).k8tsProtocol ?? false,
  });
  const authzCache = new Map<string, { allowed: boolean; until: number }>();

  const authenticate = (req: IncomingMessage): Caller | undefined => {
    const sock = req.socket as TLSSocket;
    if (!sock.authorized) return undefined;
    const cert = sock.getPeerCertificate();
    if (!cert?.subject) return undefined;
    const cn = cert.subject.CN;
    const org = cert.subject.O;
    return { username: (Array.isArray(cn) ? cn[0] : cn) ?? '', groups: [...(org ? (Array.isArray(org) ? org : [org]) : []), 'system:authenticated'] };
  };

  /** nodes/<subresource> access, as upstream maps kubelet paths (logs, exec, port-forward → proxy). */
  const authorize = async (c: Caller, verb: string, subresource: string): Promise<boolean> => {
    if (c.groups.includes('system:masters')) return true;
    if (!o.apiClientForAuthz) return false;
    const key = `${c.username}\0${c.groups.join(',')}\0${verb}\0${subresource}`;
    const hit = authzCache.get(key);
    if (hit && hit.until > Date.now()) return hit.allowed;
    try {
      const r = await o.apiClientForAuthz.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: c.username, groups: c.groups, resourceAttributes: { verb, resource: 'nodes', subresource, name: o.nodeName ?? '' } },
      });
      const allowed = !!r?.status?.allowed;
      authzCache.set(key, { allowed, until: Date.now() + (allowed ? 300_000 : 30_000) });
      return allowed;
    } catch (e) {
      log?.warn({ err: String(e) }, 'kubelet authorization request failed; denying');
      return false;
    }
  };

  const subresourceOf = (path: string) => (path.startsWith('/stats') ? 'stats' : path.startsWith('/metrics') ? 'metrics' : path.startsWith('/logs') ? 'log' : 'proxy');

  /** Authenticates and authorizes; throws HttpError. */
  const admit = async (req: IncomingMessage, path: string): Promise<Caller> => {
    const caller = authenticate(req);
    if (!caller) throw new HttpError(401, 'Unauthorized', 'Unauthorized');
    const verb = req.method === 'GET' || req.method === 'HEAD' ? 'get' : 'create';
    const sub = subresourceOf(path);
    if (!(await authorize(caller, verb, sub))) {
      throw new HttpError(403, 'Forbidden', `Forbidden (user=${caller.username}, verb=${verb}, resource=nodes, subresource=${sub})`);
    }
    return caller;
  };

  // ------------------------------------------------------------------ logs

  const containerLogs = async (req: IncomingMessage, res: ServerResponse, parts: string[], q: URLSearchParams) => {
    if (parts.length !== 3) throw notFound('expected /containerLogs/{namespace}/{pod}/{container}');
    const [ns, pod, name] = parts as [string, string, string];
    const int = (k: string): number | undefined => {
      const v = q.get(k);
      if (v === null || v === '') return undefined;
      if (!/^-?\d+$/.test(v)) throw badRequest(`invalid ${k}: ${JSON.stringify(v)}`);
      return Number(v);
    };
    const opts: LogOptions = { follow: truthy(q.get('follow')), timestamps: truthy(q.get('timestamps')), tailLines: int('tailLines'), limitBytes: int('limitBytes') };
    const sinceSeconds = int('sinceSeconds');
    const sinceTime = q.get('sinceTime');
    if (sinceSeconds !== undefined) {
      if (sinceSeconds < 1) throw badRequest('sinceSeconds must be greater than 0');
      opts.since = new Date(Date.now() - sinceSeconds * 1000);
    } else if (sinceTime) {
      const t = Date.parse(sinceTime);
      if (Number.isNaN(t)) throw badRequest(`invalid sinceTime: ${JSON.stringify(sinceTime)}`);
      opts.since = new Date(t);
    }
    if (opts.limitBytes !== undefined && opts.limitBytes < 1) throw badRequest('limitBytes must be greater than 0');
    if (opts.tailLines !== undefined && opts.tailLines < 0) throw badRequest('tailLines must be greater than or equal to 0');
    const previous = truthy(q.get('previous'));
    const { sandboxes, containers } = await lookup.containers(ns, pod, name, q.get('podUID') || undefined);
    if (!sandboxes.length) throw notFound(`pod "${pod}" in namespace "${ns}" has no containers on this node`);
    const c = previous ? containers[1] : containers[0];
    if (!c) {
      if (previous) throw badRequest(`previous terminated container "${name}" in pod "${pod}" not found`);
      throw badRequest(`container "${name}" in pod "${pod}" is waiting to start: ContainerCreating`);
    }
    const st = (await o.cri.containerStatus(c.id)).status;
    const logPath = st?.logPath ?? '';
    if (!logPath) throw badRequest(`container "${name}" in pod "${pod}" has no log file`);
    if (o.logsDir && !resolvePath(logPath).startsWith(resolvePath(o.logsDir) + sep)) {
      throw new HttpError(403, 'Forbidden', `log file of container "${name}" is outside the kubelet's log directory`);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const ac = new AbortController();
    req.on('close', () => ac.abort());
    res.on('close', () => ac.abort());
    const running = !previous && st?.state === 'CONTAINER_RUNNING';
    await streamLog(logPath, opts, res, {
      signal: ac.signal,
      isRunning: running ? async () => (await o.cri.containerStatus(c.id)).status?.state === 'CONTAINER_RUNNING' : async () => false,
    });
    res.end();
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', 'https://kubelet');
      const path = url.pathname;
      if (path === '/healthz' || path === '/healthz/ping') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return res.end('ok');
      }
      await admit(req, path);
      const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
      if (parts[0] === 'containerLogs' && (req.method === 'GET' || req.method === 'HEAD')) return await containerLogs(req, res, parts.slice(1), url.searchParams);
      if (['exec', 'attach', 'portForward'].includes(parts[0] ?? '')) throw badRequest('Upgrade request required');
      const route = o.routes?.[path];
      if (route && req.method === 'GET') return await route(req, res);
      throw notFound(`the kubelet has no ${path}`);
    } catch (e) {
      if (e instanceof HttpError) return sendStatus(res, e.code, e.reason, e.message);
      log?.error({ err: (e as Error)?.stack ?? String(e), url: req.url }, 'kubelet request failed');
      sendStatus(res, 500, 'InternalError', (e as Error)?.message ?? String(e));
    }
  };

  // ------------------------------------------------------------------ streaming

  /** A raw SPDY client: hand its upgrade to the runtime, which speaks the same protocols. */
  const spliceSpdy = async (req: IncomingMessage, socket: Duplex, head: Buffer, runtimeUrl: string) => {
    const versions = req.headers['x-stream-protocol-version'];
    const r = await dialUpgrade({
      url: runtimeUrl,
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', ...(versions ? { 'X-Stream-Protocol-Version': versions } : {}) },
    });
    if (!r.socket) return relayResponse(socket, r.res);
    writeResponseHead(socket, r.res);
    if (r.head?.length) socket.write(r.head);
    if (head.length) r.socket.write(head);
    splice(socket, r.socket);
  };

  const acceptWs = (req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string): Promise<WebSocket> => {
    (req as IncomingMessage & { k8tsProtocol?: string }).k8tsProtocol = protocol;
    return new Promise((resolve) => wss.handleUpgrade(req, socket, head, (ws) => resolve(ws)));
  };

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    try {
      const url = new URL(req.url ?? '/', 'https://kubelet');
      const q = url.searchParams;
      await admit(req, url.pathname);
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const kind = parts[0];
      const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
      const isWs = upgrade === 'websocket';
      if (!isWs && !upgrade.startsWith('spdy/')) throw badRequest(`unsupported upgrade ${JSON.stringify(req.headers.upgrade)}`);
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);

      if (kind === 'exec' || kind === 'attach') {
        // /exec/{ns}/{pod}/{container} or /exec/{ns}/{pod}/{uid}/{container}
        if (parts.length !== 4 && parts.length !== 5) throw notFound(`expected /${kind}/{namespace}/{pod}/{container}`);
        const [ns, pod] = [parts[1]!, parts[2]!];
        const uid = parts.length === 5 ? parts[3] : undefined;
        const name = parts[parts.length - 1]!;
        const flag = (a: string, b: string) => truthy(q.get(a) ?? q.get(b));
        const flags: StreamFlags = { stdin: flag('input', 'stdin'), stdout: flag('output', 'stdout'), stderr: flag('error', 'stderr'), tty: flag('tty', 'tty') };
        if (flags.tty) flags.stderr = false; // a terminal merges stderr into stdout
        if (!flags.stdin && !flags.stdout && !flags.stderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
        const command = q.getAll('command');
        if (kind === 'exec' && !command.length) throw badRequest('you must specify at least one command for the container');
        const wsProto = isWs ? pickWsProtocol(offered) : undefined;
        if (isWs && !wsProto) throw badRequest(`unsupported WebSocket subprotocols ${JSON.stringify(offered)}; supported: v5.channel.k8s.io, v4.channel.k8s.io`);
        const c = await lookup.current(ns, pod, name, uid);
        if (c.state !== 'CONTAINER_RUNNING') throw badRequest(`container "${name}" in pod "${pod}" is not running`);
        const req0 = { containerId: c.id, tty: flags.tty, stdin: flags.stdin, stdout: flags.stdout, stderr: flags.stderr };
        const runtimeUrl = kind === 'exec' ? await o.cri.exec({ ...req0, cmd: command }) : await o.cri.attach(req0);
        if (!isWs) return await spliceSpdy(req, socket, head, runtimeUrl);
        const rt = await dialRuntimeRemoteCommand(runtimeUrl, flags);
        if ('failed' in rt) return relayResponse(socket, rt.failed);
        const ws = await acceptWs(req, socket, head, wsProto as string);
        await bridgeWebSocket(ws, rt, log);
        return;
      }

      if (kind === 'portForward') {
        if (parts.length !== 3 && parts.length !== 4) throw notFound('expected /portForward/{namespace}/{pod}');
        const [ns, pod] = [parts[1]!, parts[2]!];
        const sandbox = (await lookup.sandboxes(ns, pod, parts[3])).find((s) => s.state === 'SANDBOX_READY');
        if (!sandbox) throw notFound(`pod "${pod}" in namespace "${ns}" is not running on this node`);
        const ports = q.getAll('port').map(Number).filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
        const runtimeUrl = await o.cri.portForward(sandbox.id, ports);
        if (!isWs) return await spliceSpdy(req, socket, head, runtimeUrl);
        if (!offered.includes(wsPortForwardProtocol)) throw badRequest(`unsupported WebSocket subprotocols ${JSON.stringify(offered)}; supported: ${wsPortForwardProtocol}`);
        const r = await dialRuntimePortForward(runtimeUrl);
        if (!r.socket) return relayResponse(socket, r.res);
        const ws = await acceptWs(req, socket, head, wsPortForwardProtocol);
        await tunnelWebSocket(ws, r.socket, r.head);
        return;
      }
      throw notFound(`the kubelet has no ${url.pathname}`);
    } catch (e) {
      if (e instanceof HttpError) return writeStatusError(socket, e.code, e.reason, e.message);
      log?.error({ err: (e as Error)?.stack ?? String(e), url: req.url }, 'kubelet streaming request failed');
      writeStatusError(socket, 500, 'InternalError', (e as Error)?.message ?? String(e));
    }
  };

  const server = https.createServer({ key: o.tls.key, cert: o.tls.cert, ca: o.tls.ca, requestCert: true, rejectUnauthorized: false, requestTimeout: 0 });
  server.on('request', (req, res) => void onRequest(req, res));
  server.on('upgrade', (req, socket, head) => void onUpgrade(req, socket, head));
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => undefined);
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.once('error', onError);
      server.listen(port, o.bindAddress ?? '0.0.0.0', () => (server.off('error', onError), resolve()));
    });
  try {
    await listen(o.port ?? 10250);
  } catch (e) {
    if (!o.fallbackToFreePort || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    log?.warn({ port: o.port ?? 10250 }, 'kubelet port in use; listening on a free port instead');
    await listen(0);
  }
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : o.port ?? 10250;
  log?.info({ port }, 'kubelet API listening');
  return {
    port,
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const ws of wss.clients) ws.terminate();
      for (const s of sockets) s.destroy();
      wss.close();
      await closed;
    },
  };
}
