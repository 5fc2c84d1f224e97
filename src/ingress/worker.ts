// The main of one data-plane worker process (see workers.ts): a DataPlane and
// the two listeners, configured by the controller in the server process over
// IPC. It compiles the route table and SecureContexts itself from what it is
// sent (the same functions the in-process data plane uses), counts metrics for
// the server's /metrics, and exits when told to or when the server goes away.
import cluster from 'node:cluster';
import pino, { type Logger } from 'pino';
import { buildRouteTable } from './routeTable.js';
import { CertificateStore } from './certificates.js';
import { DataPlane } from './proxy.js';
import { IngressMetrics } from './metrics.js';
import { createListeners, listen, type Listeners } from './listeners.js';
import type { FromWorker, ToWorker, WorkerInit } from './workers.js';

if (!cluster.isWorker) throw new Error('src/ingress/worker.js is started by the ingress (--ingress-workers), not by hand');

const send = (m: FromWorker) => process.send?.(m);
let dp: DataPlane | undefined;
let certs: CertificateStore | undefined;
let listeners: Listeners | undefined;
let metrics: IngressMetrics | undefined;
let log: Logger | undefined;
let accessStream: ReturnType<typeof pino.destination> | undefined;
let routesVersion = -1;
let stateApplied: () => void;
const firstState = new Promise<void>((resolve) => (stateApplied = resolve));

async function init(o: WorkerInit, id: number): Promise<void> {
  log = pino({ level: o.logLevel, base: { component: 'ingress', worker: id } }, pino.destination({ dest: 2, sync: true }));
  let access: Logger | undefined;
  if (o.accessLog) {
    // buffered and asynchronous, as in the server process
    accessStream = pino.destination({ dest: o.accessLog === true ? 2 : o.accessLog, sync: false, minLength: 4096, append: true });
    access = pino({ level: 'info', base: { component: 'ingress-access' } }, accessStream);
  }
  certs = new CertificateStore(o.fallback);
  metrics = new IngressMetrics();
  let httpsPort = o.httpsPort;
  dp = new DataPlane({ log, accessLog: access, metrics, httpsPort: () => httpsPort });
  listeners = createListeners(dp, certs, { relay: o.relay });
  // the first state (sent right after init) is in place before a connection can arrive
  await firstState;
  const r: FromWorker & { t: 'listening' } = { t: 'listening' };
  try {
    r.http = await listen(listeners.plain, o.httpPort, o.bind);
  } catch (e) {
    r.httpError = (e as Error).message;
  }
  try {
    r.https = httpsPort = await listen(listeners.secure, o.httpsPort, o.bind);
  } catch (e) {
    r.httpsError = (e as Error).message;
  }
  send(r);
}

function apply(m: ToWorker & { t: 'state' }): void {
  if (!dp || !certs) return;
  // upstreams first, then the table: a new route never sees an empty upstream it has endpoints for
  for (const [key, endpoints, reason] of m.set) dp.upstream(key).set(endpoints, reason);
  for (const key of m.remove) dp.upstreams.delete(key);
  const r = m.routes;
  if (r && r.version !== routesVersion) {
    routesVersion = r.version;
    const table = buildRouteTable(r.ingresses, { defaultHttpBackend: r.defaultHttpBackend });
    certs.update(table.tls, (k) => r.secrets.get(k));
    dp.table = table;
  }
  stateApplied();
}

async function stop(): Promise<void> {
  try {
    await listeners?.close();
    dp?.close();
    accessStream?.flushSync();
  } catch {
    /* exiting anyway */
  }
  process.exit(0);
}

const pendingState: (ToWorker & { t: 'state' })[] = [];
process.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'init':
      // state sent right after init waits for the data plane (init is synchronous up to listen)
      void init(m.init, m.id).catch((e) => {
        process.stderr.write(`ingress worker: ${(e as Error).message}\n`);
        process.exit(1);
      });
      for (const s of pendingState.splice(0)) apply(s);
      break;
    case 'state':
      if (dp) apply(m);
      else pendingState.push(m);
      break;
    case 'metrics':
      send({ t: 'metrics', id: m.id, snapshot: metrics?.snapshot() ?? [] });
      break;
    case 'stop':
      void stop();
      break;
  }
});
send({ t: 'ready' });
