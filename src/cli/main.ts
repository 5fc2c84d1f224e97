#!/usr/bin/env node
// The k8ts command line: `k8ts server`, `k8ts kubectl …`, `k8ts version`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { num, parseArgs, seconds, str } from './args.js';
import { defaultDataDir } from './dataDir.js';
import { runServer } from './server.js';

const usage = `k8ts: Kubernetes, written in TypeScript

Usage:
  k8ts server [--data-dir DIR] [--port 6443] [--bind-address ADDR]
              [--datastore-endpoint sqlite://PATH | http://etcd1:2379,...]
              [--disable-agent] [--advertise-address IP] [--log-level info]
              [--simulated-nodes N] [--node-monitor-grace-period SECONDS]
              [--default-not-ready-toleration-seconds 300]
              [--default-unreachable-toleration-seconds 300]
              [--registry-port N] [--registry-bind 127.0.0.1] [--tls-san NAME|IP,…]
              [--node-name NAME] [--cni-bridge k8ts0]
              [--ingress-http-port 80] [--ingress-https-port 443] [--ingress-bind 0.0.0.0]
              [--ingress-workers N (default: half the CPUs, 1–4; 0 = in the server process)]
              [--ingress-data-plane node|nginx (default node; nginx = /usr/sbin/nginx configured by k8ts)]
              [--disable ingress,servicelb] [--service-lb-pool CIDR|A-B[,…]]
              [--dns-upstream HOST[:PORT],…|none]
              (as root with containerd installed the server also runs pods in
               containers; --registry-port defaults to 5000 then)
  k8ts agent --server https://HOST:PORT --token TOKEN [--node-name N] [--data-dir D]
             [--registry-port P] [--node-ip IP] [--cni-bridge k8ts0]
             [--cluster-cidr 10.42.0.0/16] [--dns-upstream HOST[:PORT],…|none]
                          join this machine to a cluster as a node (root + containerd)
  k8ts token create [--data-dir DIR]      print a new join token for agents
  k8ts kubectl [--data-dir DIR] ARGS...   run kubectl against this cluster
  k8ts simulate --kubeconfig FILE --nodes N [--prefix k8ts-sim]   simulated nodes for any server
  k8ts image import FILE [--registry HOST:PORT] [--name NAME:TAG] [--data-dir DIR]
                          load an OCI layout (folder or tar) or a docker-save archive
                          into a registry (default: this machine's, in DIR/registry)
  k8ts version
`;

/** `--dns-upstream a,b:5353` → the node DNS server's resolvers; `none` → forward nowhere; unset → the host's resolv.conf */
function dnsUpstreams(v: string | boolean | undefined): string[] | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v === 'none' ? [] : v.split(',').map((x) => x.trim()).filter(Boolean);
}

/** Every value of a repeatable list flag (`--disable a --disable b,c`, `--disable=a`), as a set. */
function listFlag(argv: string[], name: string): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = a === `--${name}` ? argv[++i] : a.startsWith(`--${name}=`) ? a.slice(name.length + 3) : undefined;
    for (const x of (v ?? '').split(',')) if (x.trim()) out.add(x.trim());
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(usage);
    return cmd ? 0 : 1;
  }
  if (cmd === 'version') {
    const { kubernetesVersion } = await import('../apiserver/server.js');
    process.stdout.write(`k8ts ${kubernetesVersion.gitVersion}\n`);
    return 0;
  }
  if (cmd === 'server') {
    const p = parseArgs(argv.slice(1), new Set(['disable-agent', 'help']));
    if (p.flags.has('help')) {
      process.stdout.write(usage);
      return 0;
    }
    const srv = await runServer({
      dataDir: str(p, 'data-dir', defaultDataDir()),
      port: num(p, 'port', 6443),
      bindAddress: str(p, 'bind-address', '0.0.0.0'),
      datastoreEndpoint: p.flags.get('datastore-endpoint') as string | undefined,
      advertiseAddress: p.flags.get('advertise-address') as string | undefined,
      disableAgent: p.flags.has('disable-agent'),
      disable: listFlag(argv.slice(1), 'disable'),
      serviceLbPool: p.flags.get('service-lb-pool') as string | undefined,
      logLevel: str(p, 'log-level', 'info'),
      serviceCidr: str(p, 'service-cluster-ip-range', '10.43.0.0/16'),
      clusterCidr: str(p, 'cluster-cidr', '10.42.0.0/16'),
      nodePortRange: str(p, 'service-node-port-range', '30000-32767'),
      simulatedNodes: num(p, 'simulated-nodes', 0),
      nodeMonitorGracePeriodSeconds: seconds(p, 'node-monitor-grace-period', 40),
      defaultNotReadyTolerationSeconds: seconds(p, 'default-not-ready-toleration-seconds', 300),
      defaultUnreachableTolerationSeconds: seconds(p, 'default-unreachable-toleration-seconds', 300),
      registryPort: p.flags.has('registry-port') ? num(p, 'registry-port', 5000) : undefined,
      registryBind: str(p, 'registry-bind', '127.0.0.1'),
      tlsSan: str(p, 'tls-san', '').split(',').map((x) => x.trim()).filter(Boolean),
      nodeName: p.flags.get('node-name') as string | undefined,
      cniBridge: p.flags.get('cni-bridge') as string | undefined,
      ingressHttpPort: num(p, 'ingress-http-port', 80),
      ingressHttpsPort: num(p, 'ingress-https-port', 443),
      ingressBind: str(p, 'ingress-bind', '0.0.0.0'),
      ingressWorkers: p.flags.has('ingress-workers') ? num(p, 'ingress-workers', 0) : undefined,
      ingressDataPlane: ((v) => (v === 'node' || v === 'nginx' ? v : (() => { throw new Error(`--ingress-data-plane must be node or nginx, not ${JSON.stringify(v)}`); })()))(str(p, 'ingress-data-plane', 'node')),
      dnsUpstreams: dnsUpstreams(p.flags.get('dns-upstream')),
    });
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) process.exit(1);
      stopping = true;
      process.stderr.write(`received ${sig}, stopping\n`);
      void srv.stop().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    return new Promise<number>(() => undefined);
  }
  if (cmd === 'agent') {
    const p = parseArgs(argv.slice(1), new Set(['help']));
    if (p.flags.has('help')) {
      process.stdout.write(usage);
      return 0;
    }
    const { runAgentCommand } = await import('./agent.js');
    return runAgentCommand({
      server: str(p, 'server', ''),
      token: str(p, 'token', process.env.K8TS_TOKEN ?? ''),
      nodeName: p.flags.get('node-name') as string | undefined,
      dataDir: str(p, 'data-dir', process.getuid?.() === 0 ? '/var/lib/k8ts-agent' : join(defaultDataDir(), 'agent')),
      registryPort: p.flags.has('registry-port') ? num(p, 'registry-port', 5000) : undefined,
      nodeIp: p.flags.get('node-ip') as string | undefined,
      cniBridge: p.flags.get('cni-bridge') as string | undefined,
      serviceCidr: str(p, 'service-cluster-ip-range', '10.43.0.0/16'),
      clusterCidr: str(p, 'cluster-cidr', '10.42.0.0/16'),
      dnsUpstreams: dnsUpstreams(p.flags.get('dns-upstream')),
      logLevel: str(p, 'log-level', 'info'),
      kubeletPort: p.flags.has('kubelet-port') ? num(p, 'kubelet-port', 10250) : undefined,
    });
  }
  if (cmd === 'token') {
    const p = parseArgs(argv.slice(1), new Set());
    if (p.positionals[0] !== 'create') {
      process.stderr.write('usage: k8ts token create [--data-dir DIR]\n');
      return 1;
    }
    const { runTokenCreate } = await import('./agent.js');
    return runTokenCreate(str(p, 'data-dir', defaultDataDir()));
  }
  if (cmd === 'simulate') {
    const p = parseArgs(argv.slice(1), new Set());
    const { runSimulateCommand } = await import('../simulator/command.js');
    return runSimulateCommand({ kubeconfig: str(p, 'kubeconfig', process.env.KUBECONFIG ?? ''), nodes: num(p, 'nodes', 1), prefix: p.flags.get('prefix') as string | undefined, logLevel: str(p, 'log-level', 'info') });
  }
  if (cmd === 'image') {
    const p = parseArgs(argv.slice(1), new Set(['help']));
    const [sub, file] = p.positionals;
    if (sub !== 'import' || !file || p.flags.has('help')) {
      process.stderr.write('usage: k8ts image import FILE [--registry HOST:PORT] [--name NAME:TAG] [--data-dir DIR]\n');
      return sub === 'import' && p.flags.has('help') ? 0 : 1;
    }
    const { runImageImport } = await import('../registry/import.js');
    await runImageImport({ file, registry: p.flags.get('registry') as string | undefined, name: p.flags.get('name') as string | undefined, dataDir: str(p, 'data-dir', defaultDataDir()), out: (l) => process.stdout.write(l) });
    return 0;
  }
  if (cmd === 'kubectl') {
    let rest = argv.slice(1);
    let dataDir = defaultDataDir();
    const i = rest.findIndex((a) => a === '--data-dir' || a.startsWith('--data-dir='));
    if (i >= 0) {
      if (rest[i].includes('=')) {
        dataDir = rest[i].split('=')[1];
        rest = [...rest.slice(0, i), ...rest.slice(i + 1)];
      } else {
        dataDir = rest[i + 1];
        rest = [...rest.slice(0, i), ...rest.slice(i + 2)];
      }
    }
    const kubeconfig = join(dataDir, 'kubeconfig.yaml');
    if (!existsSync(kubeconfig)) {
      process.stderr.write(`no kubeconfig at ${kubeconfig}: start a server first (k8ts server --data-dir ${dataDir})\n`);
      return 1;
    }
    return new Promise((resolve) => {
      const child = spawn('kubectl', rest, { stdio: 'inherit', env: { ...process.env, KUBECONFIG: kubeconfig } });
      child.on('error', (e) => {
        process.stderr.write(`cannot run kubectl: ${e.message}. Install kubectl 1.32 and put it on the PATH.\n`);
        resolve(1);
      });
      child.on('exit', (code) => resolve(code ?? 1));
    });
  }
  process.stderr.write(`unknown command ${JSON.stringify(cmd)}\n\n${usage}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`k8ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
