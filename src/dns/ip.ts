// IP addresses as DNS sees them: parsed to wire bytes (A and AAAA RDATA),
// written as the dashed labels of pod and endpoint names (10-42-0-5,
// fd00--1) and read back from reverse names (5.0.42.10.in-addr.arpa,
// nibbles under ip6.arpa).

/** A dotted quad as its 4 bytes, or undefined. */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** IPv6 text (with `::` and an optional embedded dotted quad) as its 16 bytes, or undefined. */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.length > 45) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const g = items[i];
      if (i === items.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (!v4) return undefined;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 255;
  });
  return out;
}

/** 4 or 16 bytes for an address in text form, or undefined. */
export function parseIP(s: string): Uint8Array | undefined {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

/** Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6). */
export function formatIP(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  // the longest run (≥ 2) of zero groups becomes '::'
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** The dashed label of an address: 10.42.0.5 → 10-42-0-5, fd00::1 → fd00--1 (CoreDNS's form). */
export function dashed(b: Uint8Array): string {
  return formatIP(b).replace(/[.:]/g, '-');
}

/** A dashed label back to address bytes (either family), or undefined. */
export function undash(label: string): Uint8Array | undefined {
  if (/^\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}$/.test(label)) return parseIPv4(label.replace(/-/g, '.'));
  if (!/^[0-9a-f-]+$/.test(label) || !label.includes('-')) return undefined;
  return parseIPv6(label.replace(/-/g, ':'));
}

/** The reverse name of an address, without trailing dot. */
export function reverseName(b: Uint8Array): string {
  if (b.length === 4) return `${b[3]}.${b[2]}.${b[1]}.${b[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((b[i] & 15).toString(16), (b[i] >> 4).toString(16));
  return `${nibbles.join('.')}.ip6.arpa`;
}

/**
 * The address a full reverse name stands for; undefined when the name is not
 * a complete one (a shorter name under in-addr.arpa is a reverse zone, not a host).
 */
export function parseReverseName(name: string): Uint8Array | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const p = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (p.length !== 4) return undefined;
    return parseIPv4(p.reverse().join('.'));
  }
  if (name.endsWith('.ip6.arpa')) {
    const p = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (p.length !== 32 || !p.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = (parseInt(p[31 - 2 * i], 16) << 4) | parseInt(p[30 - 2 * i], 16);
    return out;
  }
  return undefined;
}

/** A CIDR as base bytes and prefix length. */
export interface Cidr {
  base: Uint8Array;
  bits: number;
}

export function parseCidr(s: string): Cidr | undefined {
  const i = s.indexOf('/');
  if (i < 0) return undefined;
  const base = parseIP(s.slice(0, i).trim());
  const bits = Number(s.slice(i + 1));
  if (!base || !Number.isInteger(bits) || bits < 0 || bits > base.length * 8) return undefined;
  return { base, bits };
}

export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  if (c.base.length !== ip.length) return false;
  let bits = c.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((c.base[i] & mask) !== (ip[i] & mask)) return false;
  }
  return true;
}
