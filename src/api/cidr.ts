// IPv4 address and CIDR arithmetic on unsigned 32-bit numbers, shared by node
// IPAM, the simulator's pod IPAM and Service ClusterIP allocation.

/** A dotted quad as a number, or undefined when it is not one (no octet above 255). */
export function parseIPv4(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const p = m.slice(1, 5).map(Number);
  if (p.some((x) => x > 255)) return undefined;
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export const formatIPv4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** The netmask of a /bits prefix. */
export const maskV4 = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

/** `a.b.c.d/n` as its network address (host bits cleared) and prefix length. */
export function parseCidrV4(cidr: string): { base: number; bits: number } | undefined {
  const m = /^([^/]+)\/(\d+)$/.exec(cidr.trim());
  if (!m) return undefined;
  const ip = parseIPv4(m[1]);
  const bits = Number(m[2]);
  if (ip === undefined || bits > 32) return undefined;
  return { base: (ip & maskV4(bits)) >>> 0, bits };
}

export function cidrContainsV4(cidr: string, ip: string): boolean {
  const c = parseCidrV4(cidr);
  const n = parseIPv4(ip);
  if (!c || n === undefined) return false;
  return ((n & maskV4(c.bits)) >>> 0) === c.base;
}
