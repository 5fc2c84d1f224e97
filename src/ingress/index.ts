// The embedded ingress controller as `k8ts server` runs it (like Traefik in k3s):
// the controller, the data plane, and two listeners — HTTP, and HTTPS with SNI
// certificates, HTTP/2 and HTTP/1.1 (ALPN). The data plane runs in N worker
// processes sharing the listeners (workers.ts), or in this process when N = 0.
// A port that cannot be opened is logged; the rest of the server keeps running.
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApiClient } from '../client/api.js';
import { CertificateStore, fallbackCertificate } from './certificates.js';
import { IngressController } from './controller.js';
import { DataPlane } from './proxy.js';
import { IngressMetrics } from './metrics.js';
import { createListeners, listen } from './listeners.js';
import { DataPlaneWorkers, type ListenResult } from './workers.js';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultNginxBinary, NginxProcess } from './nginx/nginxProcess.js';

export { defaultWorkerCount } from './workers.js';

export interface IngressOptions {
  api: ApiClient;
  log: Logger;
  /** access log (one info line per request); default: a child of log */
  accessLog?: Logger;
  nodeName: string;
  httpPort: number;
  httpsPort: number;
  /** listen address; default 0.0.0.0 */
  bind?: string;
  /** where the ingress_* metrics go (the apiserver's /metrics registry in `k8ts server`) */
  metrics?: Registry;
  /** data-plane worker processes (default 0: in this process; `k8ts server` passes defaultWorkerCount()) */
  workers?: number;
  /** `node` (default): the Node data plane above; `nginx`: Debian's nginx configured by this controller (nginx/) */
  dataPlane?: 'node' | 'nginx';
  /** the server's data directory: the nginx data plane keeps its prefix in `<dataDir>/ingress-nginx` */
  dataDir?: string;
  /** the nginx binary (default /usr/sbin/nginx) */
  nginxBinary?: string;
}

export interface IngressHandle {
  httpPort?: number;
  httpsPort?: number;
  controller: IngressController;
  /** the in-process data plane (with workers: the state they are sent) */
  dataPlane: DataPlane;
  workers?: DataPlaneWorkers;
  /** with `--ingress-data-plane nginx` */
  nginx?: NginxProcess;
  stop(): Promise<void>;
}

function reportListenErrors(o: IngressOptions, bind: string, r: ListenResult): void {
  if (r.httpError) {
    o.log.error({ port: o.httpPort, err: r.httpError }, 'ingress cannot listen for HTTP (use --ingress-http-port N, or --disable ingress)');
    process.stderr.write(`error: the ingress cannot listen on ${bind}:${o.httpPort}: ${r.httpError} (use --ingress-http-port N, or --disable ingress)\n`);
  }
  if (r.httpsError) {
    o.log.error({ port: o.httpsPort, err: r.httpsError }, 'ingress cannot listen for HTTPS (use --ingress-https-port N, or --disable ingress)');
    process.stderr.write(`error: the ingress cannot listen on ${bind}:${o.httpsPort}: ${r.httpsError} (use --ingress-https-port N, or --disable ingress)\n`);
  }
}

/** The controller every data plane shares, started; `onSync` hands each compiled state to the data plane that serves it. */
async function startController(o: IngressOptions, dataPlane: DataPlane, certs: CertificateStore, onSync?: (c: IngressController) => void): Promise<IngressController> {
  const controller: IngressController = new IngressController({ api: o.api, log: o.log, nodeName: o.nodeName, dataPlane, certs, onSync: onSync && (() => onSync(controller)) });
  await controller.start();
  return controller;
}

async function startWithWorkers(o: IngressOptions, bind: string, count: number): Promise<IngressHandle> {
  const fallback = await fallbackCertificate();
  const certs = new CertificateStore(fallback);
  // the controller's state holder; it serves nothing, the workers do
  const dataPlane = new DataPlane({ httpsPort: () => o.httpsPort });
  const workers = new DataPlaneWorkers({
    count,
    log: o.log,
    init: { fallback, httpPort: o.httpPort, httpsPort: o.httpsPort, bind, logLevel: o.log.level, accessLog: o.log.isLevelEnabled('info') },
  });
  if (o.metrics) new IngressMetrics(o.metrics, () => workers.collect());
  const controller = await startController(o, dataPlane, certs, (c) =>
    workers.publish({ version: c.routesVersion, ingresses: c.ours, defaultHttpBackend: c.defaultBackendKey, secrets: c.tlsSecrets() }, dataPlane.upstreams),
  );
  const r = await workers.start();
  reportListenErrors(o, bind, r);
  return {
    httpPort: r.httpPort,
    httpsPort: r.httpsPort,
    controller,
    dataPlane,
    workers,
    async stop() {
      controller.stop();
      await workers.stop();
    },
  };
}

/** The nginx data plane: the controller here, nginx serving (its workers = the --ingress-workers count, at least 1). */
async function startWithNginx(o: IngressOptions, bind: string, binary: string): Promise<IngressHandle> {
  const fallback = await fallbackCertificate();
  // the controller's state holders; nginx serves
  const certs = new CertificateStore(fallback);
  const dataPlane = new DataPlane({ httpsPort: () => o.httpsPort });
  const dir = o.dataDir ? join(o.dataDir, 'ingress-nginx') : mkdtempSync(join(tmpdir(), 'k8ts-ingress-nginx-'));
  const nginx = new NginxProcess({
    dir,
    binary,
    log: o.log,
    bind,
    httpPort: o.httpPort,
    httpsPort: o.httpsPort,
    fallback,
    workers: Math.max(1, o.workers ?? 1),
    accessLog: o.log.isLevelEnabled('info'),
    // the workers read the certificate files (0600, under the server's 0700 data directory) per handshake
    user: process.getuid?.() === 0 ? 'root' : undefined,
  });
  const controller = await startController(o, dataPlane, certs, (c) =>
    nginx.update({ table: dataPlane.table, upstreams: new Map([...dataPlane.upstreams].map(([k, u]) => [k, u.endpoints])), secrets: c.tlsSecrets() }),
  );
  const r = await nginx.start();
  reportListenErrors(o, bind, r);
  return {
    httpPort: r.httpPort,
    httpsPort: r.httpsPort,
    controller,
    dataPlane,
    nginx,
    async stop() {
      controller.stop();
      await nginx.stop();
      dataPlane.close();
    },
  };
}

export async function startIngress(o: IngressOptions): Promise<IngressHandle> {
  const bind = o.bind ?? '0.0.0.0';
  if (o.dataPlane === 'nginx') {
    const binary = o.nginxBinary ?? defaultNginxBinary;
    if (existsSync(binary)) return startWithNginx(o, bind, binary);
    o.log.error({ binary }, 'ingress data plane nginx requested but nginx is not installed (apt-get install nginx); using the node data plane');
    process.stderr.write(`error: --ingress-data-plane nginx: ${binary} not found; using the node data plane\n`);
  }
  if (o.workers) return startWithWorkers(o, bind, o.workers);
  const certs = new CertificateStore(await fallbackCertificate());
  // access lines go through their own buffered, asynchronous stream: a synchronous write per request would halve throughput
  const accessStream = o.accessLog ? undefined : pino.destination({ dest: 2, sync: false, minLength: 4096 });
  const accessLog = o.accessLog ?? pino({ level: o.log.level, base: { component: 'ingress-access' } }, accessStream!);
  let httpsPort = o.httpsPort;
  const dataPlane = new DataPlane({
    log: o.log,
    accessLog,
    metrics: o.metrics ? new IngressMetrics(o.metrics) : undefined,
    httpsPort: () => httpsPort,
  });
  const controller = await startController(o, dataPlane, certs);

  const { plain, secure, close } = createListeners(dataPlane, certs);
  const handle: IngressHandle = {
    controller,
    dataPlane,
    async stop() {
      controller.stop();
      await close();
      dataPlane.close();
      try {
        accessStream?.flushSync();
      } catch {
        /* not open yet */
      }
    },
  };
  const r: ListenResult = {};
  await listen(plain, o.httpPort, bind).then((p) => (handle.httpPort = p), (e: Error) => (r.httpError = e.message));
  await listen(secure, o.httpsPort, bind).then((p) => (handle.httpsPort = httpsPort = p), (e: Error) => (r.httpsError = e.message));
  reportListenErrors(o, bind, r);
  return handle;
}
