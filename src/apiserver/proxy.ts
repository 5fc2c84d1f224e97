// The apiserver side of pods/log, pods/exec, pods/attach, pods/portforward and
// nodes/proxy: find the pod's node and its kubelet endpoint, then relay to the
// kubelet API with the apiserver's own client certificate. Upgrades (WebSocket
// and SPDY) are carried byte for byte: the kubelet speaks kubectl's protocols.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/kind.js';
import { errors, StatusError } from '../api/errors.js';
import type { KindRegistry } from '../api/registry.js';
import type { RestStore } from './rest.js';
import type { KeyPairPem } from './pki.js';
// generic HTTP-upgrade plumbing; it lives with the kubelet's streaming code
import { completeUpgrade, dialUpgrade, forwardHeaders, hostPort, writeStatusError } from '../client/upgrade.js';

export interface KubeletProxyDeps {
  store: RestStore;
  registry: KindRegistry;
  /** the apiserver's client identity toward kubelets */
  clientCert?: KeyPairPem;
  log?: Logger;
}

const logParams = ['follow', 'previous', 'tailLines', 'sinceSeconds', 'sinceTime', 'timestamps', 'limitBytes'];
const unavailable = (m: string) => new StatusError(503, 'ServiceUnavailable', m);

/** The container a request is about: the named one (which must exist), or the pod's only container. */
export function containerFor(pod: KubeObject, requested: string | null): string {
  const name = pod.metadata?.name;
  const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
  const inits: string[] = (pod.spec?.initContainers ?? []).map((c: { name: string }) => c.name);
  const ephemeral: string[] = (pod.spec?.ephemeralContainers ?? []).map((c: { name: string }) => c.name);
  if (!requested) {
    if (containers.length === 1) return containers[0]!;
    let msg = `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`;
    if (inits.length) msg += ` or one of the init containers: [${inits.join(' ')}]`;
    if (ephemeral.length) msg += ` or one of the ephemeral containers: [${ephemeral.join(' ')}]`;
    throw errors.badRequest(msg);
  }
  if (![...containers, ...inits, ...ephemeral].includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** The kubelet's address: the node's InternalIP (else the first address, else the pod's hostIP) and its published port. */
export function kubeletAddress(node: KubeObject, pod?: KubeObject): { host: string; port: number } {
  const name = node.metadata?.name;
  if (String(node.status?.nodeInfo?.containerRuntimeVersion ?? '').startsWith('simulated://')) {
    throw unavailable(`node "${name}" is a simulated node: it runs no containers, so no kubelet serves logs, exec, attach or port-forward there`);
  }
  const port = Number(node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 0);
  if (!port) throw unavailable(`node "${name}" publishes no kubelet endpoint (status.daemonEndpoints.kubeletEndpoint.Port)`);
  const addrs: { type: string; address: string }[] = node.status?.addresses ?? [];
  const host = addrs.find((a) => a.type === 'InternalIP')?.address ?? addrs.find((a) => a.type === 'ExternalIP')?.address ?? pod?.status?.hostIP;
  if (!host) throw unavailable(`node "${name}" has no address to reach its kubelet`);
  return { host, port };
}


export class KubeletProxy {
  private readonly agent: https.Agent;
  constructor(private readonly d: KubeletProxyDeps) {
    // upstream's default: kubelet serving certificates are not verified unless a CA is configured
    this.agent = new https.Agent({ cert: d.clientCert?.cert, key: d.clientCert?.key, rejectUnauthorized: false, keepAlive: true, maxSockets: 256 });
  }

  close(): void {
    this.agent.destroy();
  }

  private async pod(ns: string, name: string): Promise<KubeObject> {
    return this.d.store.get(this.d.registry.byGVR('', 'v1', 'pods')!, ns, name);
  }

  private async kubeletFor(nodeName: string, pod?: KubeObject): Promise<{ host: string; port: number }> {
    const node = await this.d.store.get(this.d.registry.byGVR('', 'v1', 'nodes')!, '', nodeName);
    return kubeletAddress(node, pod);
  }

  private async podTarget(ns: string, name: string): Promise<{ pod: KubeObject; addr: { host: string; port: number } }> {
    const pod = await this.pod(ns, name);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw errors.badRequest(`pod ${name} does not have a host assigned`);
    return { pod, addr: await this.kubeletFor(nodeName, pod) };
  }

  /** GET pods/log: the container's log, streamed as the kubelet writes it. */
  async log(req: IncomingMessage, res: ServerResponse, ns: string, name: string, q: URLSearchParams): Promise<void> {
    const { pod, addr } = await this.podTarget(ns, name);
    const container = containerFor(pod, q.get('container'));
    const params = new URLSearchParams();
    for (const k of logParams) {
      const v = q.get(k);
      if (v !== null && v !== '') params.set(k, v);
    }
    const nodeName: string = pod.spec.nodeName;
    await this.relayGet(req, res, addr, `/containerLogs/${enc(ns)}/${enc(name)}/${enc(container)}${params.size ? '?' + params : ''}`, nodeName);
  }

  /** nodes/{name}/proxy/{path}: any kubelet GET endpoint (healthz, stats, containerLogs, …). */
  async nodeProxy(req: IncomingMessage, res: ServerResponse, nodeName: string, rest: string[], search: string): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw errors.methodNotAllowed('nodes/proxy supports GET only');
    const addr = await this.kubeletFor(nodeName);
    await this.relayGet(req, res, addr, `/${rest.map(enc).join('/')}${search}`, nodeName);
  }

  private relayGet(req: IncomingMessage, res: ServerResponse, addr: { host: string; port: number }, path: string, nodeName: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const up = https.request({ host: addr.host, port: addr.port, path, method: req.method, agent: this.agent, headers: { Accept: req.headers.accept ?? '*/*' } }, (kr) => {
        const code = kr.statusCode ?? 500;
        if (code < 200 || code >= 300) {
          const chunks: Buffer[] = [];
          kr.on('data', (c: Buffer) => chunks.push(c));
          kr.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let status: KubeObject | undefined;
            try {
              status = JSON.parse(text);
            } catch {}
            if (status?.kind === 'Status') {
              res.writeHead(code, { 'Content-Type': 'application/json' });
              res.end(JSON.stringify(status));
              return resolve();
            }
            reject(new StatusError(code, code === 404 ? 'NotFound' : code === 403 ? 'Forbidden' : code === 400 ? 'BadRequest' : 'InternalError', text.trim() || `the kubelet answered ${code}`));
          });
          kr.on('error', reject);
          return;
        }
        res.writeHead(code, { 'Content-Type': kr.headers['content-type'] ?? 'text/plain', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
        res.flushHeaders();
        kr.pipe(res);
        kr.on('end', () => resolve());
        kr.on('error', () => (res.destroy(), resolve()));
      });
      // the client went away (kubectl logs -f interrupted): stop reading from the kubelet
      res.on('close', () => up.destroy());
      up.on('error', (e) => {
        if (res.headersSent) return (res.destroy(), resolve());
        reject(unavailable(`unable to reach the kubelet of node "${nodeName}" at ${hostPort(addr.host, addr.port)}: ${e.message}`));
      });
      up.end();
    });
  }

  /** pods/exec, pods/attach, pods/portforward upgrades (WebSocket or SPDY), carried to the kubelet. */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, name: string, sub: string, q: URLSearchParams): Promise<void> {
    try {
      const { pod, addr } = await this.podTarget(ns, name);
      const phase = pod.status?.phase;
      if (sub !== 'portforward' && (phase === 'Succeeded' || phase === 'Failed')) {
        throw errors.badRequest(`cannot ${sub} into a container in a completed pod; current phase is ${phase}`);
      }
      let path: string;
      const params = new URLSearchParams();
      if (sub === 'portforward') {
        for (const p of q.getAll('ports')) for (const x of p.split(',')) if (x.trim()) params.append('port', x.trim());
        path = `/portForward/${enc(ns)}/${enc(name)}`;
      } else {
        const container = containerFor(pod, q.get('container'));
        const flag = (k: string) => ['true', '1'].includes((q.get(k) ?? '').toLowerCase());
        if (sub === 'exec') for (const c of q.getAll('command')) params.append('command', c);
        if (flag('stdin')) params.set('input', '1');
        if (flag('stdout')) params.set('output', '1');
        if (flag('stderr')) params.set('error', '1');
        if (flag('tty')) params.set('tty', '1');
        if (sub === 'exec' && !params.has('command')) throw errors.badRequest('you must specify at least one command for the container');
        if (!params.has('input') && !params.has('output') && !params.has('error')) throw errors.badRequest('you must specify at least 1 of stdin, stdout, stderr');
        path = `/${sub}/${enc(ns)}/${enc(name)}/${enc(container)}`;
      }
      const url = `https://${hostPort(addr.host, addr.port)}${path}${params.size ? '?' + params : ''}`;
      let r;
      try {
        r = await dialUpgrade({ url, method: req.method, headers: forwardHeaders(req), tls: { cert: this.d.clientCert?.cert, key: this.d.clientCert?.key, rejectUnauthorized: false } });
      } catch (e) {
        throw unavailable(`unable to reach the kubelet of node "${pod.spec.nodeName}" at ${hostPort(addr.host, addr.port)}: ${(e as Error).message}`);
      }
      completeUpgrade(socket, head, r);
    } catch (e) {
      const se = e instanceof StatusError ? e : errors.internal((e as Error)?.message ?? String(e));
      if (!(e instanceof StatusError)) this.d.log?.error({ err: (e as Error)?.stack ?? String(e) }, 'streaming proxy failed');
      writeStatusError(socket, se.code, se.reason, se.message);
    }
  }
}

const enc = (s: string) => encodeURIComponent(s);
