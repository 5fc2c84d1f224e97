// The `nginx.ingress.kubernetes.io/*` annotations users already write, parsed
// once per Ingress change into the options its routes carry.
import { BlockList, isIP } from 'node:net';

const prefix = 'nginx.ingress.kubernetes.io/';

export type BackendProtocol = 'HTTP' | 'HTTPS';

export interface RouteOptions {
  /** rewrite-target: the new path; `$1`… are the path regex's capture groups */
  rewriteTarget?: string;
  /** use-regex (also implied by rewrite-target, as in ingress-nginx): paths of the host are regular expressions */
  useRegex: boolean;
  /** ssl-redirect (default true): HTTP requests to a TLS host get a 308 to HTTPS */
  sslRedirect: boolean;
  backendProtocol: BackendProtocol;
  /** proxy-body-size in bytes; undefined = no limit */
  maxBodyBytes?: number;
  /** proxy-read-timeout (default 60 s): upstream silence before a 504 */
  readTimeoutMs: number;
  /** proxy-connect-timeout (default 5 s): then the next endpoint is tried */
  connectTimeoutMs: number;
  /** whitelist-source-range: only these client addresses (else 403) */
  allow?: BlockList;
  /** the same ranges as written (the nginx data plane's allow lines) */
  allowRanges?: string[];
  /** affinity: cookie — the cookie's name (session-cookie-name, default INGRESSCOOKIE) */
  affinityCookie?: string;
}

export interface AnnotationProblem {
  annotation: string;
  message: string;
}

const sizeUnits: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** nginx sizes: "0" (no limit), "8k", "1m", "1g", "512". */
export function parseSize(v: string): number | undefined {
  const m = /^\s*(\d+)\s*([kmg]?)\s*$/i.exec(v);
  if (!m) throw new Error(`not a size like 1m or 512k: ${JSON.stringify(v)}`);
  const n = Number(m[1]) * sizeUnits[m[2].toLowerCase()];
  return n === 0 ? undefined : n;
}

/** nginx times: "60" (seconds), "60s", "2m", "500ms". */
export function parseSeconds(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m) throw new Error(`not a duration like 60 or 60s: ${JSON.stringify(v)}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : m[2] === 'h' ? n * 3_600_000 : n * 1000;
}

/** "10.0.0.0/8, 192.168.1.1, ::1/128" → a BlockList (node's fast address-set matcher). */
export function parseSourceRanges(v: string): BlockList {
  const list = new BlockList();
  for (const raw of v.split(',')) {
    const s = raw.trim();
    if (!s) continue;
    const [ip, bits] = s.split('/');
    const fam = isIP(ip);
    if (!fam) throw new Error(`not an address or CIDR: ${JSON.stringify(s)}`);
    const type = fam === 6 ? 'ipv6' : 'ipv4';
    const n = bits === undefined ? (fam === 6 ? 128 : 32) : Number(bits);
    if (!Number.isInteger(n) || n < 0 || n > (fam === 6 ? 128 : 32)) throw new Error(`bad prefix length in ${JSON.stringify(s)}`);
    list.addSubnet(ip, n, type);
  }
  return list;
}

const truthy = (v: string | undefined) => v !== undefined && v.trim().toLowerCase() === 'true';

/** Options for the routes of one Ingress; bad values are reported and left at their defaults. */
export function parseAnnotations(annotations: Record<string, string> | undefined): { options: RouteOptions; problems: AnnotationProblem[] } {
  const a = annotations ?? {};
  const get = (name: string): string | undefined => a[prefix + name];
  const problems: AnnotationProblem[] = [];
  const opts: RouteOptions = { useRegex: false, sslRedirect: true, backendProtocol: 'HTTP', readTimeoutMs: 60_000, connectTimeoutMs: 5_000 };
  const guard = (name: string, fn: (v: string) => void) => {
    const v = get(name);
    if (v === undefined) return;
    try {
      fn(v);
    } catch (e) {
      problems.push({ annotation: prefix + name, message: (e as Error).message });
    }
  };
  guard('rewrite-target', (v) => (opts.rewriteTarget = v));
  opts.useRegex = truthy(get('use-regex')) || opts.rewriteTarget !== undefined;
  guard('ssl-redirect', (v) => (opts.sslRedirect = v.trim().toLowerCase() !== 'false'));
  guard('backend-protocol', (v) => {
    const p = v.trim().toUpperCase();
    if (p !== 'HTTP' && p !== 'HTTPS') throw new Error(`backend-protocol ${JSON.stringify(v)} is not supported (HTTP, HTTPS)`);
    opts.backendProtocol = p;
  });
  guard('proxy-body-size', (v) => (opts.maxBodyBytes = parseSize(v)));
  guard('proxy-read-timeout', (v) => (opts.readTimeoutMs = parseSeconds(v)));
  guard('proxy-connect-timeout', (v) => (opts.connectTimeoutMs = parseSeconds(v)));
  const ranges = (v: string) => {
    opts.allow = parseSourceRanges(v);
    opts.allowRanges = v.split(',').map((x) => x.trim()).filter(Boolean);
  };
  guard('whitelist-source-range', ranges);
  guard('allowlist-source-range', ranges); // its newer name
  guard('affinity', (v) => {
    if (v.trim() !== 'cookie') throw new Error(`affinity ${JSON.stringify(v)} is not supported (cookie)`);
    opts.affinityCookie = get('session-cookie-name')?.trim() || 'INGRESSCOOKIE';
  });
  return { options: opts, problems };
}
