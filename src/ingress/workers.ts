// Data-plane worker processes (`k8ts server --ingress-workers N`): N node:cluster
// workers share the ingress listening sockets (scheduling "none": the kernel
// hands each connection to one worker; the server process never touches a
// request). The controller stays in the server process and sends every worker
// what it compiles from — the Ingresses, the upstream endpoints (changed ones
// only) and the TLS Secrets — at start and after each sync, in one message so
// a worker applies upstreams before routes, as the in-process data plane does.
// Metrics are counted per worker and summed at scrape time; a worker that dies
// is replaced after a second and given the current state.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import type { Secret } from 'kubernetes-types/core/v1.js';
import type { Endpoint, Upstream } from './upstreams.js';
import type { KeyPair } from './certificates.js';
import { merge, type MetricsSnapshot } from './metrics.js';

/**
 * The default worker count: half the CPUs (at least 1, at most 4). The data plane
 * gets its own process(es) — API-server work does not delay proxied requests and
 * vice versa — while leaving the other half of the machine to the API server,
 * controllers, kubelet and the pods themselves.
 */
export function defaultWorkerCount(cpus = availableParallelism()): number {
  return Math.max(1, Math.min(4, Math.floor(cpus / 2)));
}

export interface WorkerInit {
  fallback: KeyPair;
  httpPort: number;
  httpsPort: number;
  bind: string;
  /** level of the worker's own log (stderr) */
  logLevel: string;
  /** access log: false = off, true = stderr, a string = that file (appended) */
  accessLog: boolean | string;
  /** the plain-HTTP relay (relay.ts) on or off; unset = the listeners' default */
  relay?: boolean;
}

/** What a worker compiles its route table and certificates from. */
export interface RoutesState {
  version: number;
  ingresses: Ingress[];
  defaultHttpBackend?: string;
  /** the TLS Secrets spec.tls names, by `namespace/name` */
  secrets: Map<string, Secret>;
}

export type ToWorker =
  | { t: 'init'; init: WorkerInit; id: number }
  | { t: 'state'; routes?: RoutesState; set: [string, Endpoint[], string][]; remove: string[] }
  | { t: 'metrics'; id: number }
  | { t: 'stop' };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'listening'; http?: number; https?: number; httpError?: string; httpsError?: string }
  | { t: 'metrics'; id: number; snapshot: MetricsSnapshot };

export interface ListenResult {
  httpPort?: number;
  httpsPort?: number;
  httpError?: string;
  httpsError?: string;
}

const workerFile = fileURLToPath(new URL('./worker.js', import.meta.url));

export class DataPlaneWorkers {
  private readonly workers = new Map<Worker, number>();
  private routes?: RoutesState;
  /** what the workers were sent, per upstream key (array identity tells a change) */
  private readonly sent = new Map<string, { endpoints: Endpoint[]; reason: string }>();
  private stopping = false;
  private seq = 0;
  private readonly pending = new Map<number, (s: MetricsSnapshot) => void>();
  /** the last counts of workers that exited, so the summed counters do not go down */
  private retired: MetricsSnapshot = [];
  private readonly last = new Map<Worker, MetricsSnapshot>();
  private firstListen?: (r: ListenResult) => void;

  constructor(private readonly o: { count: number; init: WorkerInit; log: Logger }) {}

  /** Fork the workers; resolves with the first worker's listen result (they share the sockets). */
  start(): Promise<ListenResult> {
    if (!cluster.isPrimary) throw new Error('ingress workers can only be started by a primary process');
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: workerFile, args: [], serialization: 'advanced' });
    const listened = new Promise<ListenResult>((resolve) => {
      // a worker that cannot start must not hang the server's start (or its stop, which waits for the start)
      const timer = setTimeout(() => {
        this.firstListen = undefined;
        resolve({ httpError: 'no ingress worker started within 30 s', httpsError: 'no ingress worker started within 30 s' });
      }, 30_000);
      this.firstListen = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
    for (let i = 0; i < this.o.count; i++) this.fork(i);
    return listened;
  }

  private fork(id: number): void {
    const w = cluster.fork({ K8TS_INGRESS_WORKER: String(id) });
    this.workers.set(w, id);
    w.on('message', (m: FromWorker) => {
      if (m.t === 'ready') {
        this.send(w, { t: 'init', init: this.o.init, id });
        this.send(w, { t: 'state', routes: this.routes, set: [...this.sent].map(([k, v]) => [k, v.endpoints, v.reason]), remove: [] });
      } else if (m.t === 'listening') {
        const r: ListenResult = { httpPort: m.http, httpsPort: m.https, httpError: m.httpError, httpsError: m.httpsError };
        if (this.firstListen) {
          this.firstListen(r);
          this.firstListen = undefined;
        } else if (m.httpError || m.httpsError) this.o.log.error({ worker: id, ...r }, 'ingress worker cannot listen');
      } else if (m.t === 'metrics') {
        this.last.set(w, m.snapshot);
        this.pending.get(m.id)?.(m.snapshot);
      }
    });
    w.on('error', (e) => this.o.log.debug({ worker: id, err: e.message }, 'ingress worker IPC error'));
    w.on('exit', (code, signal) => {
      this.workers.delete(w);
      const last = this.last.get(w);
      this.last.delete(w);
      if (last) this.retired = merge([this.retired, last]);
      if (this.stopping) return;
      this.o.log.error({ worker: id, code, signal }, 'ingress worker exited; starting a new one');
      setTimeout(() => !this.stopping && this.fork(id), 1000).unref();
    });
  }

  private send(w: Worker, m: ToWorker): void {
    if (!w.isConnected()) return;
    try {
      w.send(m);
    } catch (e) {
      this.o.log.debug({ err: (e as Error).message }, 'cannot send to ingress worker');
    }
  }

  /** After a controller sync: the routes when they changed, and the upstreams that changed. */
  publish(routes: RoutesState, upstreams: Map<string, Upstream>): void {
    const newRoutes = this.routes?.version !== routes.version;
    if (newRoutes) this.routes = routes;
    const set: [string, Endpoint[], string][] = [];
    const remove: string[] = [];
    for (const [k, u] of upstreams) {
      const had = this.sent.get(k);
      if (had && had.endpoints === u.endpoints && had.reason === u.reason) continue;
      this.sent.set(k, { endpoints: u.endpoints, reason: u.reason });
      set.push([k, u.endpoints, u.reason]);
    }
    for (const k of this.sent.keys())
      if (!upstreams.has(k)) {
        this.sent.delete(k);
        remove.push(k);
      }
    if (!newRoutes && !set.length && !remove.length) return;
    const m: ToWorker = { t: 'state', routes: newRoutes ? routes : undefined, set, remove };
    for (const w of this.workers.keys()) this.send(w, m);
  }

  /** Every worker's counts (a worker that does not answer within a second keeps its last ones). */
  async collect(): Promise<MetricsSnapshot[]> {
    const ws = [...this.workers.keys()].filter((w) => w.isConnected());
    const answers = ws.map(
      (w) =>
        new Promise<MetricsSnapshot>((resolve) => {
          const id = ++this.seq;
          const timer = setTimeout(() => {
            this.pending.delete(id);
            resolve(this.last.get(w) ?? []);
          }, 1000);
          this.pending.set(id, (s) => {
            clearTimeout(timer);
            this.pending.delete(id);
            resolve(s);
          });
          this.send(w, { t: 'metrics', id });
        }),
    );
    return [this.retired, ...(await Promise.all(answers))];
  }

  /** Ask every worker to close its listeners and exit; kill the ones that take longer than 3 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.workers.keys()].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.process.exitCode !== null || w.process.signalCode !== null) return resolve();
          const timer = setTimeout(() => w.process.kill('SIGKILL'), 3000);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          if (w.isConnected()) this.send(w, { t: 'stop' });
          else w.process.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }
}
