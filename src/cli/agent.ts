// `k8ts agent --server URL --token TOKEN`: joins this machine to a cluster as a
// node (k3s style) and runs pods on its own containerd. Images come from the
// server's registry (--registry-port), pulled over plain HTTP: pods name them
// localhost:<port>/… or 127.0.0.1:<port>/…, which on the server's machine is
// loopback and on any other node is mirrored to <server host>:<port> (the server
// then listens there: `k8ts server --registry-bind ADDR`). --node-ip is the
// node's InternalIP: other nodes route its podCIDR through it (host-gw) and the
// apiserver reaches its kubelet API there.
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { ApiClient } from '../client/api.js';
import { joinCluster } from '../kubelet/join.js';
import { containerdProblems } from '../kubelet/containerd.js';
import type { Agent } from '../kubelet/agent.js';

export interface AgentCommandOptions {
  server: string;
  token: string;
  nodeName?: string;
  dataDir: string;
  registryPort?: number;
  nodeIp?: string;
  cniBridge?: string;
  serviceCidr: string;
  /** the cluster's pod network (the proxy masquerades traffic leaving it) */
  clusterCidr: string;
  /** the node DNS server's upstream resolvers; [] = none; undefined = the host's */
  dnsUpstreams?: string[];
  logLevel: string;
  kubeletPort?: number;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || (isIP(h) === 4 && h.startsWith('127.'));
}

export async function runAgentCommand(o: AgentCommandOptions): Promise<number> {
  const log = pino({ level: o.logLevel, base: undefined }, pino.destination(2));
  const token = o.token.startsWith('@') ? readFileSync(o.token.slice(1), 'utf8').trim() : o.token;
  if (!o.server || !token) {
    process.stderr.write('usage: k8ts agent --server https://HOST:PORT --token TOKEN [--node-name N] [--data-dir D] [--registry-port P]\n');
    return 1;
  }
  const problems = containerdProblems();
  if (problems.length) {
    process.stderr.write(`error: this machine cannot run containers: ${problems.join('; ')}\n`);
    return 1;
  }
  const dataDir = resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const nodeName = (o.nodeName ?? hostname()).toLowerCase();
  const creds = await joinCluster({ server: o.server, token, nodeName, dataDir, warn: (m) => process.stderr.write(`warning: ${m}\n`) });
  process.stderr.write(`joined ${o.server} as system:node:${nodeName}\n`);
  const api = new ApiClient({ server: o.server, ca: creds.ca, cert: creds.cert, key: creds.key, userAgent: `k8ts/kubelet-${nodeName}` });
  // a node on the server's machine is reached over loopback, like the in-server agent
  const serverHost = new URL(o.server).hostname;
  const hostIP = o.nodeIp ?? (isLoopback(serverHost) ? '127.0.0.1' : undefined);
  // images are named localhost:<port>/… (the server's registry); away from the server that host is here, so pull from the server
  const registryMirror = o.registryPort && !isLoopback(serverHost) ? `${serverHost}:${o.registryPort}` : undefined;
  const [svcBase] = o.serviceCidr.split('/');
  const abort = new AbortController();
  let agent: Agent | undefined;
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`received ${sig}, stopping\n`);
    if (!agent) abort.abort();
    void (agent?.stop() ?? Promise.resolve()).then(
      () => {
        api.close();
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const { startAgent } = await import('../kubelet/agent.js');
  agent = await startAgent({
    api,
    dataDir,
    nodeName,
    hostIP,
    log: log.child({ component: 'kubelet' }),
    registryPort: o.registryPort,
    registryMirror,
    bridge: o.cniBridge,
    serviceCidr: o.serviceCidr,
    clusterCidr: o.clusterCidr,
    dnsUpstreams: o.dnsUpstreams,
    clusterDNS: svcBase.replace(/\.\d+$/, '.10'),
    kubeletPort: o.kubeletPort,
    signal: abort.signal,
  });
  if (stopping) await agent.stop();
  else process.stderr.write(`node ${nodeName} is running pods on containerd (pod CIDR ${agent.podCIDR})\n`);
  return new Promise<number>(() => undefined);
}

/** `k8ts token create`: a new join token for the server whose data dir is DIR. */
export async function runTokenCreate(dataDir: string): Promise<number> {
  const { createToken } = await import('../apiserver/join.js');
  const { join } = await import('node:path');
  let ca: string;
  try {
    ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
  } catch {
    process.stderr.write(`no cluster CA in ${dataDir}/tls: start a server first (k8ts server --data-dir ${dataDir})\n`);
    return 1;
  }
  process.stdout.write(`${createToken(dataDir, ca)}\n`);
  return 0;
}
