// A throw-away containerd node for runtime tests: our containerd in a temp data
// dir, a uniquely named CNI bridge on a 10.42.x.0/24, the sandbox image, and a
// cleanup that removes everything it made and reports what was left behind.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { containerdProblems, startContainerd, type Containerd } from '../../src/kubelet/containerd.js';
import { gatewayOf } from '../../src/kubelet/cni.js';
import { CriClient } from '../../src/kubelet/cri/client.js';
import { busyboxImageArchive, ensureImage, type ImportOptions } from '../../src/kubelet/sandboxImage.js';
import type { TarEntry } from '../../src/kubelet/ociArchive.js';

export const BUSYBOX_TEST_IMAGE = 'k8ts.local/busybox:test';
export const TEST_INDEX_HTML = 'hello from k8ts\n';

/** Why containers can't run here; empty when they can. */
export function criSkipReason(): string | undefined {
  const p = containerdProblems();
  return p.length ? `containerd tests skipped: ${p.join('; ')}` : undefined;
}

export interface CriNode {
  dataDir: string;
  podCIDR: string;
  gateway: string;
  bridge: string;
  containerd: Containerd;
  cri: CriClient;
  importOpts: ImportOptions;
  /** Imports the busybox test image (sh, httpd, wget…; /www/index.html). */
  importBusybox(): Promise<string>;
  /** Stops everything and returns what was left behind (empty = clean). */
  cleanup(): Promise<string[]>;
}

const sh = (cmd: string, args: string[]): string => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return '';
  }
};

/** Mounts, links, netns and NAT rules that still mention this node. */
export function criLeftovers(dataDir: string, bridge: string, podCIDR: string, opts: { bridgeMayExist?: boolean } = {}): string[] {
  const left: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.includes(dataDir)) left.push(`mount: ${line.split(' ')[4]}`);
  }
  // veths attached to our bridge (one per pod sandbox)
  const ports = sh('ip', ['-o', 'link', 'show', 'master', bridge]).trim();
  if (ports) left.push(`bridge ports: ${ports}`);
  if (!opts.bridgeMayExist && sh('ip', ['-o', 'link', 'show', bridge]).trim()) left.push(`bridge ${bridge} still exists`);
  const nat = sh('iptables', ['-t', 'nat', '-S']).split('\n').filter((l) => l.includes(podCIDR.split('/')[0]!.replace(/\.0$/, '.')));
  if (nat.length) left.push(`nat rules: ${nat.join(' | ')}`);
  const netnsDir = join(dataDir, 'containerd', 'state', 'io.containerd.grpc.v1.cri', 'netns');
  if (existsSync(netnsDir)) {
    const entries = sh('ls', [netnsDir]).trim();
    if (entries) left.push(`netns files: ${entries}`);
  }
  return left;
}

/** A 10.42.x.0/24 (lo <= x <= hi) that no route on this machine uses yet: other tests may run at the same time. */
export function freeCidr(lo: number, hi: number): string {
  const routes = sh('ip', ['-4', 'route', 'show']);
  const pick = () => `10.42.${lo + (randomBytes(1)[0]! % (hi - lo + 1))}.0/24`;
  for (let i = 0; i < 50; i++) {
    const cidr = pick();
    if (!routes.includes(cidr)) return cidr;
  }
  return pick();
}

/**
 * What a node run changes on the host besides its data dir: the bridge, ip_forward
 * (the bridge plugin turns it on) and the dirs containerd 1.6 and libcni always use
 * (shim sockets, CNI result cache). Snapshot before the node starts; restore after it stops.
 */
export function hostNetSnapshot(bridge: string): { restore(): void } {
  const ipForwardBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
  const systemDirs = ['/run/containerd/s', '/run/containerd', '/var/lib/cni/results', '/var/lib/cni'].filter((d) => !existsSync(d));
  return {
    restore() {
      sh('ip', ['link', 'del', bridge]);
      writeFileSync('/proc/sys/net/ipv4/ip_forward', ipForwardBefore);
      // only the dirs this run created, and only once they are empty again
      for (const d of systemDirs) {
        try {
          rmdirSync(d);
        } catch {}
      }
    },
  };
}

export async function startCriNode(): Promise<CriNode> {
  // a short path: containerd's socket path must fit in 108 bytes
  const dataDir = mkdtempSync('/tmp/k8ts-cri-');
  const podCIDR = freeCidr(200, 249);
  const bridge = `k8tst${randomBytes(3).toString('hex')}`;
  const host = hostNetSnapshot(bridge);
  const log = pino({ level: process.env.K8TS_TEST_LOG ?? 'warn' }, pino.destination(2));
  let containerd: Containerd | undefined;
  let cri: CriClient | undefined;
  const cleanup = async (): Promise<string[]> => {
    if (cri) {
      // remove whatever a failed test left running, so the leftover check is about our code
      try {
        for (const s of await cri.listPodSandbox()) {
          await cri.stopPodSandbox(s.id).catch(() => {});
          await cri.removePodSandbox(s.id).catch(() => {});
        }
      } catch {}
      cri.close();
    }
    await containerd?.stop();
    host.restore();
    const left = criLeftovers(dataDir, bridge, podCIDR);
    if (!left.length) rmSync(dataDir, { recursive: true, force: true });
    return left;
  };
  try {
    containerd = await startContainerd({ dataDir, log, registryPort: 5000, podCIDR, bridge });
    cri = new CriClient(containerd.socket, { timeoutMs: 30_000 });
    const importOpts: ImportOptions = { socket: containerd.socket, tmpDir: join(dataDir, 'containerd', 'tmp'), snapshotter: containerd.snapshotter };
    // containerd notices the CNI config by watching its dir: wait for NetworkReady
    for (let i = 0; ; i++) {
      const st = await cri.status();
      if (st.status?.conditions.find((c) => c.type === 'NetworkReady')?.status) break;
      if (i > 100) throw new Error(`CNI not ready: ${JSON.stringify(st.status)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const c = cri;
    const www: TarEntry[] = [{ type: 'dir', path: 'www' }, { type: 'file', path: 'www/index.html', data: TEST_INDEX_HTML }];
    return {
      dataDir,
      podCIDR,
      gateway: gatewayOf(podCIDR),
      bridge,
      containerd,
      cri,
      importOpts,
      importBusybox: () => ensureImage(c, BUSYBOX_TEST_IMAGE, () => busyboxImageArchive(BUSYBOX_TEST_IMAGE, www), importOpts),
      cleanup,
    };
  } catch (e) {
    await cleanup().catch(() => {});
    throw e;
  }
}
