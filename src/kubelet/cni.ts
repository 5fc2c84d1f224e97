// The node's pod network: one CNI conflist (bridge + host-local IPAM on the
// node's podCIDR, then portmap for hostPorts) in the data dir, read by our
// containerd. containerd itself sets up `lo` in each pod with the `loopback`
// plugin, which must be in the same bin dir. The agent creates the bridge
// itself (ensureBridge) before the first pod, so the node's DNS server can
// listen on the gateway address; the bridge plugin adopts it.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatIPv4, parseCidrV4 } from '../api/cidr.js';
import { promisify } from 'node:util';

export const CNI_BIN_DIR = '/usr/lib/cni';
export const DEFAULT_BRIDGE = 'k8ts0';
const NEEDED_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];

export interface CniOptions {
  /** Directory containerd reads conflists from (`cniConfDir(dataDir)`). */
  confDir: string;
  /** Where host-local keeps its allocations; under the data dir, not /var/lib/cni. */
  ipamDataDir: string;
  /** The node's pod CIDR, e.g. 10.42.0.0/24. */
  podCIDR: string;
  /** Bridge device name (at most 15 characters). */
  bridge?: string;
  /** Network name in the conflist. */
  name?: string;
  binDir?: string;
  mtu?: number;
}

export function cniConfDir(dataDir: string): string {
  return join(dataDir, 'cni', 'net.d');
}
export function cniIpamDir(dataDir: string): string {
  return join(dataDir, 'cni', 'ipam');
}

/** The plugins we need that are missing from binDir (empty when all are there). */
export function missingCniPlugins(binDir = CNI_BIN_DIR): string[] {
  return NEEDED_PLUGINS.filter((p) => !existsSync(join(binDir, p)));
}

/** The gateway address of a CIDR: its first host (.1 of a /24). */
export function gatewayOf(cidr: string): string {
  const c = parseCidrV4(cidr);
  if (!c) throw new Error(`invalid IPv4 CIDR ${cidr}`);
  if (!(c.bits >= 8 && c.bits <= 30)) throw new Error(`pod CIDR ${cidr}: prefix must be /8 to /30`);
  return formatIPv4(c.base + 1);
}

export function cniConflist(o: CniOptions): object {
  const bridge = o.bridge ?? DEFAULT_BRIDGE;
  if (bridge.length > 15) throw new Error(`bridge name ${bridge} is longer than 15 characters`);
  gatewayOf(o.podCIDR); // validates
  return {
    cniVersion: '1.0.0',
    name: o.name ?? 'k8ts',
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true, // the bridge gets the CIDR's .1 and is the pods' gateway
        // no SNAT here: the proxy masquerades traffic leaving the cluster CIDR (pod-to-pod across nodes keeps its source)
        ipMasq: false,
        hairpinMode: true, // a pod can reach itself through a Service VIP
        ...(o.mtu ? { mtu: o.mtu } : {}),
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: o.podCIDR }]],
          // the default route exists only inside the pod's namespace
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: o.ipamDataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

/** Writes the conflist (replacing any other) and returns its path. */
export function writeCniConfig(o: CniOptions): string {
  const missing = missingCniPlugins(o.binDir);
  if (missing.length) {
    throw new Error(`CNI plugins missing from ${o.binDir ?? CNI_BIN_DIR}: ${missing.join(', ')} (apt-get install containernetworking-plugins)`);
  }
  mkdirSync(o.confDir, { recursive: true });
  mkdirSync(o.ipamDataDir, { recursive: true });
  // containerd loads the first conflist by name; keep exactly one
  for (const f of readdirSync(o.confDir)) {
    if (/\.(conflist|conf|json)$/.test(f) && f !== '10-k8ts.conflist') rmSync(join(o.confDir, f), { force: true });
  }
  const path = join(o.confDir, '10-k8ts.conflist');
  writeFileSync(path, JSON.stringify(cniConflist(o), null, 2) + '\n');
  return path;
}

const run = promisify(execFile);

/** The prefix length of a CIDR ("10.42.3.0/24" → 24). */
export function prefixOf(cidr: string): number {
  return Number(cidr.split('/')[1]);
}

/**
 * Creates the pod bridge (when missing) with the gateway address of podCIDR and
 * brings it up; the CNI bridge plugin then finds it as it would have made it.
 * Returns whether the bridge was created here. An existing bridge keeps its
 * other addresses (the plugin refuses a second address in the same subnet, so
 * the gateway must be the one it would pick).
 */
export async function ensureBridge(bridge: string, podCIDR: string): Promise<boolean> {
  if (bridge.length > 15) throw new Error(`bridge name ${bridge} is longer than 15 characters`);
  const gw = gatewayOf(podCIDR);
  const ip = (args: string[]) => run('ip', args, { encoding: 'utf8' });
  let created = false;
  const shown = await ip(['-o', '-4', 'addr', 'show', 'dev', bridge]).catch(() => undefined);
  if (shown === undefined) {
    try {
      await ip(['link', 'add', 'name', bridge, 'type', 'bridge']);
      created = true;
    } catch (e) {
      // made at the same moment by someone else (containerd's CNI call): fine when it is there now
      if ((await ip(['link', 'show', 'dev', bridge]).catch(() => undefined)) === undefined) throw e;
    }
  }
  const addrs = shown?.stdout ?? '';
  if (!new RegExp(`inet ${gw.replace(/\./g, '\\.')}/`).test(addrs)) {
    await ip(['addr', 'add', `${gw}/${prefixOf(podCIDR)}`, 'dev', bridge]).catch((e: Error & { stderr?: string }) => {
      if (!/exists/i.test(e.stderr ?? e.message)) throw e;
    });
  }
  await ip(['link', 'set', 'dev', bridge, 'up']);
  return created;
}
