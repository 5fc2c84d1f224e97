// The API server: HTTPS front end, authentication, authorization, discovery,
// OpenAPI, health and metrics, and the resource pipeline (handler.ts → rest.ts).
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import client from 'prom-client';
import type { Datastore } from '../datastore/types.js';
import { KindRegistry } from '../api/registry.js';
import { errors, StatusError } from '../api/errors.js';
import { Codec } from './codec.js';
import { WatchCache } from './watchCache.js';
import { RestStore, type AdmissionPlugin } from './rest.js';
import { ResourceHandler, send, sendError } from './handler.js';
import { parseRequestInfo } from './requestInfo.js';
import { Discovery, aggregatedContentType } from './discovery.js';
import { parseMediaTypes } from './negotiate.js';
import type { RequestContext, UserInfo } from './context.js';
import type { Encryptor } from './encryption.js';
import type { ClusterPki } from './pki.js';
import { OpenAPIService } from './openapi.js';
import { SchemaChecker } from './schemaCheck.js';
import { ServiceAccountTokens } from './serviceAccountToken.js';
import { KubeletProxy } from './proxy.js';
import { PodServiceProxy } from './podServiceProxy.js';
import { writeStatusError } from '../client/upgrade.js';

export const kubernetesVersion = { major: '1', minor: '32', gitVersion: 'v1.32.0+k8ts', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-11-01T00:00:00Z', goVersion: `node${process.versions.node}`, compiler: 'tsc', platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}` };

export interface ApiServerOptions {
  datastore: Datastore;
  registry: KindRegistry;
  pki: ClusterPki;
  encryptor?: Encryptor;
  log: Logger;
  port: number;
  bindAddress: string;
  /** address clients use, for discovery's serverAddressByClientCIDRs */
  advertiseAddress: string;
  admission?: (store: () => RestStore, cache: () => WatchCache) => AdmissionPlugin[];
  /** static bearer tokens (token → user) */
  tokens?: Map<string, UserInfo>;
  bookmarkMs?: number;
  /** endpoints served before authentication (node join); returns whether it answered */
  preAuth?: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;
}

const certUsers = new WeakMap<TLSSocket, UserInfo>();

const unauthenticatedPaths = new Set(['/healthz', '/livez', '/readyz', '/version']);

export class ApiServer {
  readonly cache: WatchCache;
  readonly store: RestStore;
  private readonly handler: ResourceHandler;
  private readonly discovery: Discovery;
  private readonly openapi: OpenAPIService;
  private server?: https.Server;
  private ready = false;
  readonly metrics = new client.Registry();
  private readonly requests: client.Counter<string>;
  private readonly latency: client.Histogram<string>;
  private readonly sockets = new Set<import('node:stream').Duplex>();
  readonly kubelet: KubeletProxy;
  /** pods/proxy and services/proxy */
  readonly podServiceProxy: PodServiceProxy;
  /** signs and verifies ServiceAccount tokens */
  readonly saTokens: ServiceAccountTokens;

  constructor(private readonly o: ApiServerOptions) {
    const codec = new Codec(o.encryptor);
    this.cache = new WatchCache(o.datastore, codec, o.log.child({ component: 'watch-cache' }));
    const schema = new SchemaChecker();
    const plugins = o.admission ? o.admission(() => this.store, () => this.cache) : [];
    this.store = new RestStore(o.datastore, this.cache, codec, plugins, schema);
    this.saTokens = new ServiceAccountTokens(o.pki.serviceAccountKey);
    this.kubelet = new KubeletProxy({ store: this.store, registry: o.registry, clientCert: o.pki.components['kube-apiserver-kubelet-client'], log: o.log.child({ component: 'kubelet-proxy' }) });
    this.podServiceProxy = new PodServiceProxy({ store: this.store, cache: this.cache, registry: o.registry, log: o.log.child({ component: 'pod-service-proxy' }) });
    this.handler = new ResourceHandler({ registry: o.registry, store: this.store, cache: this.cache, bookmarkMs: o.bookmarkMs ?? 60_000, kubelet: this.kubelet, saTokens: this.saTokens, podServiceProxy: this.podServiceProxy });
    this.discovery = new Discovery(o.registry, o.advertiseAddress);
    this.openapi = new OpenAPIService(o.registry);
    client.collectDefaultMetrics({ register: this.metrics });
    this.requests = new client.Counter({ name: 'apiserver_request_total', help: 'Requests by verb, resource and code', labelNames: ['verb', 'resource', 'code'], registers: [this.metrics] });
    this.latency = new client.Histogram({ name: 'apiserver_request_duration_seconds', help: 'Request latency (non-watch)', labelNames: ['verb', 'resource'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5], registers: [this.metrics] });
    const cache = this.cache;
    new client.Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Open watches on the watch cache',
      registers: [this.metrics],
      collect() {
        this.set(cache.watcherCount());
      },
    });
  }

  async start(): Promise<void> {
    await this.cache.start();
    const { pki } = this.o;
    this.server = https.createServer({
      key: pki.serving.key,
      cert: pki.serving.cert,
      ca: pki.ca.cert,
      requestCert: true,
      rejectUnauthorized: false,
      // long watches: no server-side idle timeout on requests
      requestTimeout: 0,
      keepAliveTimeout: 65_000,
    });
    this.server.on('request', (req, res) => void this.serve(req, res));
    this.server.on('upgrade', (req, socket, head) => void this.serveUpgrade(req, socket, head));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.bindAddress, () => resolve());
    });
    this.ready = true;
  }

  get port(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : this.o.port;
  }

  async stop(): Promise<void> {
    this.ready = false;
    this.cache.stop();
    this.kubelet.close();
    this.podServiceProxy.close();
    if (this.server) {
      const closed = new Promise<void>((r) => this.server!.close(() => r()));
      for (const s of this.sockets) s.destroy();
      await closed;
    }
  }

  private authenticate(req: IncomingMessage): UserInfo | undefined {
    const sock = req.socket as TLSSocket;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      const u = this.o.tokens?.get(auth.slice(7).trim());
      if (u) return u;
      return this.serviceAccountUser(auth.slice(7).trim());
    }
    if (sock.authorized) {
      // the certificate is fixed for the connection: decode it once per socket, not per request
      const known = certUsers.get(sock);
      if (known) return known;
      const cert = sock.getPeerCertificate();
      if (cert?.subject) {
        const cn = cert.subject.CN;
        const o = cert.subject.O;
        const user = { username: (Array.isArray(cn) ? cn[0] : cn) ?? '', groups: [...(o ? (Array.isArray(o) ? o : [o]) : []), 'system:authenticated'] };
        certUsers.set(sock, user);
        return user;
      }
    }
    return undefined;
  }

  /**
   * A ServiceAccount JWT: valid signature and lifetime, and (like upstream's
   * bound tokens) the service account and bound pod still exist with the same uid.
   */
  private serviceAccountUser(token: string): UserInfo | undefined {
    const v = this.saTokens.verify(token);
    if (!v) return undefined;
    const current = (resource: string, name: string) => this.cache.get(resource, `/registry/${resource}/${v.namespace}/${name}`)?.obj;
    const sa = current('serviceaccounts', v.serviceAccount.name);
    if (!sa || sa.metadata?.uid !== v.serviceAccount.uid) return undefined;
    if (v.pod) {
      const pod = current('pods', v.pod.name);
      if (!pod || pod.metadata?.uid !== v.pod.uid || pod.metadata?.deletionTimestamp) return undefined;
    }
    return v.user;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let verb = (req.method ?? 'GET').toLowerCase();
    let resource = '';
    res.on('finish', () => {
      this.requests.inc({ verb, resource, code: String(res.statusCode) });
      if (verb !== 'watch') this.latency.observe({ verb, resource }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    try {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (unauthenticatedPaths.has(path) || path.startsWith('/healthz/') || path.startsWith('/readyz/') || path.startsWith('/livez/')) {
        return this.serveHealth(path, res);
      }
      if (this.o.preAuth && path.startsWith('/k8ts/') && (await this.o.preAuth(req, res, path))) return;
      const user = this.authenticate(req);
      if (!user) throw errors.unauthorized();
      const ctx: RequestContext = { user, dryRun: false, fieldValidation: 'Warn', warnings: [] };
      const info = parseRequestInfo(req.method ?? 'GET', path, url.searchParams);
      verb = info.verb;
      resource = info.resource;
      if (info.isResource) return await this.handler.handle(req, res, info, url, ctx);
      return this.serveNonResource(req, res, path);
    } catch (err) {
      if (!(err instanceof StatusError)) this.o.log.error({ err: (err as Error)?.stack ?? String(err), url: req.url, method: req.method }, 'request failed');
      if (!res.headersSent) sendError(res, err);
      else res.end();
    }
  }

  /** Upgrade requests (WebSocket, SPDY): exec, attach and port-forward, relayed to the pod's kubelet. */
  private async serveUpgrade(req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let code = 101;
    let resource = '';
    try {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const path = url.pathname.replace(/\/+$/, '') || '/';
      const user = this.authenticate(req);
      if (!user) throw errors.unauthorized();
      const info = parseRequestInfo(req.method ?? 'GET', path, url.searchParams);
      resource = info.resource;
      if (info.isResource && info.resource === 'pods' && info.name && ['exec', 'attach', 'portforward'].includes(info.subresource)) {
        resource = `pods/${info.subresource}`;
        return await this.kubelet.upgrade(req, socket, head, info.namespace, info.name, info.subresource, url.searchParams);
      }
      if (info.isResource && info.apiPrefix === 'api' && (info.resource === 'pods' || info.resource === 'services') && info.name && info.subresource === 'proxy') {
        resource = `${info.resource}/proxy`;
        return await this.podServiceProxy.upgrade(req, socket, head, info.resource, info.namespace, info.name, url);
      }
      throw errors.badRequest(`${path} cannot be upgraded to ${JSON.stringify(req.headers.upgrade ?? '')}`);
    } catch (err) {
      const se = err instanceof StatusError ? err : errors.internal((err as Error)?.message ?? String(err));
      code = se.code;
      writeStatusError(socket, se.code, se.reason, se.message);
    } finally {
      this.requests.inc({ verb: 'connect', resource, code: String(code) });
    }
  }

  private serveHealth(path: string, res: ServerResponse): void {
    if (path === '/version') return send(res, 200, kubernetesVersion);
    const ok = this.ready && !this.cache.stopped;
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end(ok ? 'ok' : 'not ready');
  }

  private serveNonResource(req: IncomingMessage, res: ServerResponse, path: string): void {
    const wantsAggregated = parseMediaTypes(req.headers.accept).some((t) => t.params.as === 'APIGroupDiscoveryList' && t.params.g === 'apidiscovery.k8s.io' && (t.params.v === 'v2' || t.params.v === 'v2beta1'));
    const d = this.discovery;
    const aggregated = (bytes: Buffer, etag: string) => {
      const v2beta1 = !parseMediaTypes(req.headers.accept).some((t) => t.params.as === 'APIGroupDiscoveryList' && t.params.v === 'v2');
      const body = v2beta1 ? Buffer.from(bytes.toString().replace('apidiscovery.k8s.io/v2', 'apidiscovery.k8s.io/v2beta1')) : bytes;
      res.writeHead(200, { 'Content-Type': v2beta1 ? aggregatedContentType.replace('v=v2', 'v=v2beta1') : aggregatedContentType, ETag: etag, 'Content-Length': body.length });
      res.end(body);
    };
    switch (path) {
      case '/api':
        return wantsAggregated ? aggregated(d.aggregatedApi, d.etagApi) : send(res, 200, d.apiVersions);
      case '/apis':
        return wantsAggregated ? aggregated(d.aggregatedApis, d.etagApis) : send(res, 200, d.apiGroupList);
      case '/metrics':
        void this.metrics.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': this.metrics.contentType });
          res.end(text);
        });
        return;
    }
    if (path.startsWith('/openapi/')) return this.openapi.serve(req, res, path);
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts.length === 2) {
      const list = d.resourceList(parts[1]);
      if (list) return send(res, 200, list);
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = d.group(parts[1]);
      if (g) return send(res, 200, g);
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const list = d.resourceList(`${parts[1]}/${parts[2]}`);
      if (list) return send(res, 200, list);
    }
    throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  }
}
