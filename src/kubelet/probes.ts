// Container probes: one-shot checks (Prober) and their per-container schedule
// (ProbeManager).
//
// Interface (used by the pod worker):
//   const prober = new Prober(exec, () => podIP)
//     exec(containerId, cmd, timeoutMs) runs a command in the container (CRI ExecSync).
//   await prober.run(probe, containerId, container?) → { result: 'success'|'failure'|'unknown', message }
//     exec, httpGet (http/https; TLS is not verified, as upstream), tcpSocket and
//     grpc (grpc.health.v1.Health/Check). Named ports are looked up in
//     `container.ports`. Targets default to the pod IP: traffic stays on the node.
//     'unknown' means the probe could not be run (e.g. exec failed to start); the
//     manager counts it as a failure, like upstream.
//   const pm = new ProbeManager(prober, { onReadinessChange, onStartup, onLivenessFailure, onStartupFailure, onProbeFailure })
//   pm.addContainer(container, containerId, { startedAt? })  when the container is running;
//     call again with the new id after a restart (state resets). pm.removeContainer(name),
//     pm.isReady(name), pm.isStarted(name), pm.stop().
//     - startup probe first: liveness and readiness wait until it succeeds;
//       failureThreshold failures → onStartupFailure (restart the container).
//     - readiness starts false (true at once without a readiness probe, once started);
//       successThreshold successes → ready, failureThreshold failures → not ready.
//     - liveness: failureThreshold consecutive failures → onLivenessFailure (the
//       worker kills/restarts the container, using probe.terminationGracePeriodSeconds
//       if set); the liveness/startup probe then holds until addContainer gives a new id.
//     - every failed run → onProbeFailure(name, kind, "Liveness probe failed: …")
//       for the worker's Warning `Unhealthy` events.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Container, HTTPGetAction, Probe } from 'kubernetes-types/core/v1.js';

export type ProbeResult = 'success' | 'failure' | 'unknown';
export interface ProbeOutcome {
  result: ProbeResult;
  message: string;
}
export interface ExecResult {
  exitCode: number;
  stdout: string | Buffer;
  stderr: string | Buffer;
}
export type ExecFn = (containerId: string, cmd: string[], timeoutMs: number) => Promise<ExecResult>;

const PROBE_USER_AGENT = 'kube-probe/1.32';
const MAX_BODY = 10 * 1024;
const MAX_REDIRECTS = 10;

/** A port number, or a named port of the container. */
export function resolvePort(port: number | string | undefined, container?: Container): number {
  if (typeof port === 'number') return port;
  if (port === undefined || port === '') throw new Error('probe has no port');
  if (/^\d+$/.test(port)) return Number(port);
  const p = container?.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`couldn't find port: ${port} in ${container?.name ?? 'container'}`);
  return p.containerPort;
}

const hostport = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

// ------------------------------------------------------------------ exec

export async function execCheck(exec: ExecFn, containerId: string, command: string[], timeoutMs: number): Promise<ProbeOutcome> {
  let r: ExecResult;
  try {
    r = await exec(containerId, command, timeoutMs);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    if (/deadline|timed? ?out/i.test(msg)) return { result: 'failure', message: `command ${JSON.stringify(command.join(' '))} timed out` };
    return { result: 'unknown', message: msg };
  }
  const out = `${r.stdout.toString()}${r.stderr.toString()}`;
  if (r.exitCode === 0) return { result: 'success', message: out };
  return { result: 'failure', message: out || `command ${JSON.stringify(command.join(' '))} exited with ${r.exitCode}` };
}

// ------------------------------------------------------------------ HTTP

export interface HttpTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  path: string;
  headers: Record<string, string>;
}

export function httpTarget(action: HTTPGetAction, podIP: string, container?: Container): HttpTarget {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`unsupported scheme: ${action.scheme}`);
  const headers: Record<string, string> = {};
  for (const h of action.httpHeaders ?? []) if (h.name) headers[h.name] = h.value ?? '';
  const lower = Object.keys(headers).map((k) => k.toLowerCase());
  if (!lower.includes('user-agent')) headers['User-Agent'] = PROBE_USER_AGENT;
  if (!lower.includes('accept')) headers.Accept = '*/*';
  let path = action.path ?? '/';
  if (!path.startsWith('/')) path = `/${path}`;
  return { scheme, host: action.host || podIP, port: resolvePort(action.port, container), path, headers };
}

function httpOnce(url: URL, headers: Record<string, string>, deadline: number): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const remaining = Math.max(1, deadline - Date.now());
    const req = mod.request(
      url,
      { method: 'GET', headers, agent: false, rejectUnauthorized: false, timeout: remaining } as https.RequestOptions,
      (res) => {
        let body = Buffer.alloc(0);
        res.on('data', (c: Buffer) => {
          if (body.length < MAX_BODY) body = Buffer.concat([body, c]).subarray(0, MAX_BODY);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body: body.toString() }));
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')), remaining);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')));
    req.on('error', reject);
    req.end();
  });
}

function dialMessage(e: NodeJS.ErrnoException, addr: string): string {
  if (e.code === 'ECONNREFUSED') return `dial tcp ${addr}: connect: connection refused`;
  if (e.code === 'EHOSTUNREACH') return `dial tcp ${addr}: connect: no route to host`;
  return e.message;
}

/** GET the target; 200–399 is success. Redirects to the same host are followed. */
export async function httpCheck(t: HttpTarget, timeoutMs: number): Promise<ProbeOutcome> {
  const deadline = Date.now() + timeoutMs;
  let url = new URL(`${t.scheme}://${hostport(t.host, t.port)}${t.path}`);
  const headers = { ...t.headers };
  for (let i = 0; i <= MAX_REDIRECTS; i++) {
    let r: Awaited<ReturnType<typeof httpOnce>>;
    try {
      r = await httpOnce(url, headers, deadline);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const why = err.code ? dialMessage(err, url.host) : err.message;
      return { result: 'failure', message: `Get ${JSON.stringify(url.href)}: ${why}` };
    }
    if (r.status >= 300 && r.status < 400 && r.location) {
      const next = new URL(r.location, url);
      // another host: upstream stops and counts it as success (with a warning)
      if (next.hostname !== url.hostname) return { result: 'success', message: `Probe terminated redirects, Response body: ${r.body}` };
      url = next;
      continue;
    }
    if (r.status >= 200 && r.status < 400) return { result: 'success', message: r.body };
    return { result: 'failure', message: `HTTP probe failed with statuscode: ${r.status}` };
  }
  return { result: 'failure', message: 'stopped after 10 redirects' };
}

// ------------------------------------------------------------------ TCP

export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const addr = hostport(host, port);
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (o: ProbeOutcome) => {
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => done({ result: 'failure', message: `dial tcp ${addr}: i/o timeout` }), timeoutMs);
    s.once('connect', () => done({ result: 'success', message: '' }));
    s.once('error', (e: NodeJS.ErrnoException) => done({ result: 'failure', message: dialMessage(e, addr) }));
  });
}

// ------------------------------------------------------------------ gRPC health

// grpc.health.v1: HealthCheckRequest { string service = 1; }
// HealthCheckResponse { ServingStatus status = 1; } — two one-field messages,
// encoded by hand so no .proto file has to ship with the build.
const servingStatus = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export function encodeHealthRequest(service: string): Buffer {
  const s = Buffer.from(service);
  if (!s.length) return Buffer.alloc(0);
  return Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** Reads field 1 (varint) of a HealthCheckResponse; other fields are skipped. */
export function decodeHealthResponse(b: Buffer): number {
  let i = 0;
  let status = 0;
  const readVarint = () => {
    let v = 0;
    for (let shift = 0; i < b.length && shift < 35; shift += 7) {
      const byte = b[i++]!;
      v |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    return v >>> 0;
  };
  while (i < b.length) {
    const tag = readVarint();
    const wire = tag & 7;
    if (tag >>> 3 === 1 && wire === 0) status = readVarint();
    else if (wire === 0) readVarint();
    else if (wire === 2) i += readVarint();
    else if (wire === 5) i += 4;
    else if (wire === 1) i += 8;
    else break;
  }
  return status;
}

export function decodeHealthRequest(b: Buffer): string {
  if (b.length < 2 || b[0] !== 0x0a) return '';
  let i = 1;
  let len = 0;
  for (let shift = 0; i < b.length && shift < 35; shift += 7) {
    const byte = b[i++]!;
    len |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
  }
  return b.subarray(i, i + len).toString();
}
export function encodeHealthResponse(status: number): Buffer {
  return status ? Buffer.concat([Buffer.from([0x08]), varint(status)]) : Buffer.alloc(0);
}

export function grpcCheck(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  const addr = hostport(host, port);
  const client = new grpc.Client(addr, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 });
  return new Promise((resolve) => {
    const done = (o: ProbeOutcome) => {
      client.close();
      resolve(o);
    };
    const deadline = new Date(Date.now() + timeoutMs);
    client.waitForReady(deadline, (err) => {
      if (err) return done({ result: 'failure', message: `timeout: failed to connect service ${JSON.stringify(addr)} within ${timeoutMs / 1000}s` });
      // messages as objects: grpc-js treats a falsy decoded message as missing
      const decode = (b: Buffer) => ({ status: decodeHealthResponse(b) });
      client.makeUnaryRequest<string, { status: number }>('/grpc.health.v1.Health/Check', encodeHealthRequest, decode, service, new grpc.Metadata(), { deadline }, (e, res) => {
        const status = res?.status ?? 0;
        if (e) {
          if (e.code === grpc.status.DEADLINE_EXCEEDED) return done({ result: 'failure', message: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` });
          if (e.code === grpc.status.UNIMPLEMENTED) return done({ result: 'failure', message: 'error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ' + e.details });
          return done({ result: 'failure', message: `error: health rpc failed: ${e.details || e.message}` });
        }
        if (status === 1) return done({ result: 'success', message: '' });
        done({ result: 'failure', message: `service unhealthy (responded with ${JSON.stringify(servingStatus[status ?? 0] ?? String(status))})` });
      });
    });
  });
}

// ------------------------------------------------------------------ Prober

export class Prober {
  constructor(
    private readonly exec: ExecFn,
    private readonly podIP: () => string,
  ) {}

  async run(probe: Probe, containerId: string, container?: Container): Promise<ProbeOutcome> {
    const timeoutMs = Math.max(1, probe.timeoutSeconds ?? 1) * 1000;
    try {
      if (probe.exec) return await execCheck(this.exec, containerId, probe.exec.command ?? [], timeoutMs);
      if (probe.httpGet) return await httpCheck(httpTarget(probe.httpGet, this.podIP(), container), timeoutMs);
      if (probe.tcpSocket) return await tcpCheck(probe.tcpSocket.host || this.podIP(), resolvePort(probe.tcpSocket.port, container), timeoutMs);
      if (probe.grpc) return await grpcCheck(this.podIP(), probe.grpc.port, probe.grpc.service ?? '', timeoutMs);
    } catch (e) {
      return { result: 'unknown', message: (e as Error).message };
    }
    return { result: 'unknown', message: 'missing probe handler' };
  }
}

// ------------------------------------------------------------------ ProbeManager

export type ProbeKind = 'liveness' | 'readiness' | 'startup';
const kindTitle: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

export interface ProbeCallbacks {
  onReadinessChange?(containerName: string, containerId: string, ready: boolean): void;
  /** the startup probe succeeded (or there is none): `started` becomes true */
  onStartup?(containerName: string, containerId: string): void;
  onLivenessFailure?(containerName: string, containerId: string, outcome: ProbeOutcome, probe: Probe): void;
  onStartupFailure?(containerName: string, containerId: string, outcome: ProbeOutcome, probe: Probe): void;
  /** each failed probe run, with upstream's event message ("Readiness probe failed: …") */
  onProbeFailure?(containerName: string, containerId: string, kind: ProbeKind, eventMessage: string): void;
}

interface ProbeState {
  kind: ProbeKind;
  probe: Probe;
  successes: number;
  failures: number;
  timer?: NodeJS.Timeout;
  /** liveness/startup after a restart decision: wait for a new container id */
  onHold: boolean;
}

interface ContainerProbes {
  container: Container;
  containerId: string;
  started: boolean;
  ready: boolean;
  probes: Map<ProbeKind, ProbeState>;
  stopped: boolean;
}

export interface AddContainerOptions {
  /** when the container started (initialDelaySeconds counts from here); now if unset */
  startedAt?: number;
}

export class ProbeManager {
  private readonly containers = new Map<string, ContainerProbes>();

  constructor(
    private readonly prober: Prober,
    private readonly cb: ProbeCallbacks = {},
  ) {}

  /** Start probing a running container; a new id replaces the old state. */
  addContainer(container: Container, containerId: string, opts: AddContainerOptions = {}): void {
    const cur = this.containers.get(container.name);
    if (cur?.containerId === containerId) return;
    if (cur) this.stopContainer(cur);
    const c: ContainerProbes = { container, containerId, started: !container.startupProbe, ready: false, probes: new Map(), stopped: false };
    this.containers.set(container.name, c);
    const startedAt = opts.startedAt ?? Date.now();
    const add = (kind: ProbeKind, probe: Probe | undefined) => {
      if (!probe) return;
      const st: ProbeState = { kind, probe, successes: 0, failures: 0, onHold: false };
      c.probes.set(kind, st);
      if (kind !== 'startup' && !c.started) return; // scheduled once startup succeeds
      this.schedule(c, st, startedAt);
    };
    add('startup', container.startupProbe);
    add('liveness', container.livenessProbe);
    add('readiness', container.readinessProbe);
    if (c.started) {
      this.cb.onStartup?.(container.name, containerId);
      if (!container.readinessProbe) this.setReady(c, true);
    }
  }

  removeContainer(name: string): void {
    const c = this.containers.get(name);
    if (!c) return;
    this.stopContainer(c);
    this.containers.delete(name);
  }

  isReady(name: string): boolean {
    return this.containers.get(name)?.ready ?? false;
  }

  isStarted(name: string): boolean {
    return this.containers.get(name)?.started ?? false;
  }

  stop(): void {
    for (const c of this.containers.values()) this.stopContainer(c);
    this.containers.clear();
  }

  private stopContainer(c: ContainerProbes): void {
    c.stopped = true;
    for (const st of c.probes.values()) clearTimeout(st.timer);
  }

  private setReady(c: ContainerProbes, ready: boolean): void {
    if (c.ready === ready) return;
    c.ready = ready;
    this.cb.onReadinessChange?.(c.container.name, c.containerId, ready);
  }

  private schedule(c: ContainerProbes, st: ProbeState, startedAt: number): void {
    const period = Math.max(1, st.probe.periodSeconds ?? 10) * 1000;
    const initial = Math.max(0, (st.probe.initialDelaySeconds ?? 0) * 1000 - (Date.now() - startedAt));
    const tick = async () => {
      if (c.stopped || st.onHold) return;
      const outcome = await this.prober.run(st.probe, c.containerId, c.container);
      if (c.stopped) return;
      this.record(c, st, outcome, startedAt);
      if (!c.stopped && !st.onHold && !(st.kind === 'startup' && c.started)) {
        st.timer = setTimeout(() => void tick(), period);
        st.timer.unref?.();
      }
    };
    st.timer = setTimeout(() => void tick(), initial);
    st.timer.unref?.();
  }

  private record(c: ContainerProbes, st: ProbeState, outcome: ProbeOutcome, startedAt: number): void {
    const name = c.container.name;
    if (outcome.result === 'success') {
      st.failures = 0;
      st.successes++;
      // liveness and startup need a single success (validation forces 1)
      const needed = st.kind === 'readiness' ? Math.max(1, st.probe.successThreshold ?? 1) : 1;
      if (st.successes < needed) return;
      if (st.kind === 'readiness') this.setReady(c, true);
      if (st.kind === 'startup' && !c.started) {
        c.started = true;
        this.cb.onStartup?.(name, c.containerId);
        for (const other of c.probes.values()) if (other.kind !== 'startup') this.schedule(c, other, startedAt);
        if (!c.probes.has('readiness')) this.setReady(c, true);
      }
      return;
    }
    st.successes = 0;
    st.failures++;
    const verb = outcome.result === 'unknown' ? 'errored' : 'failed';
    this.cb.onProbeFailure?.(name, c.containerId, st.kind, `${kindTitle[st.kind]} probe ${verb}: ${outcome.message}`);
    if (st.failures < Math.max(1, st.probe.failureThreshold ?? 3)) return;
    if (st.kind === 'readiness') {
      this.setReady(c, false);
      return;
    }
    st.onHold = true;
    if (st.kind === 'liveness') this.cb.onLivenessFailure?.(name, c.containerId, outcome, st.probe);
    else this.cb.onStartupFailure?.(name, c.containerId, outcome, st.probe);
  }
}
