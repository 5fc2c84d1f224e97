// The host's resolvers, the default upstreams of the cluster DNS: the
// nameservers of /etc/resolv.conf without loopback stubs (systemd-resolved's
// 127.0.0.53, a local dnsmasq), which pods could not reach and which would
// loop back into us; when only stubs are listed, systemd-resolved's own list
// of real servers is used, as the kubelet does.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';

/** The `nameserver` lines of a resolv.conf text. */
export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && net.isIP(m[1].replace(/%.*$/, ''))) out.push(m[1].replace(/%.*$/, ''));
  }
  return out;
}

export const isLoopback = (ip: string): boolean => ip.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1';

/** nameservers from /etc/resolv.conf (or the given file) minus loopback stubs. */
export function hostUpstreams(resolvConf = '/etc/resolv.conf'): string[] {
  const read = (p: string) => {
    try {
      return parseNameservers(readFileSync(p, 'utf8'));
    } catch {
      return [];
    }
  };
  const listed = read(resolvConf);
  const real = listed.filter((ip) => !isLoopback(ip));
  if (real.length || !listed.length) return real;
  const resolved = '/run/systemd/resolve/resolv.conf';
  return resolvConf === '/etc/resolv.conf' && existsSync(resolved) ? read(resolved).filter((ip) => !isLoopback(ip)) : [];
}
