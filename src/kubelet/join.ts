// The agent side of joining a cluster (k3s style): fetch the server's CA without
// trusting it, check it against the hash in the join token, then — over TLS pinned
// to that CA — trade the token for a client certificate (system:node:<name>).
// The credentials are kept in DATA_DIR/agent/ and reused on the next start.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';

export interface JoinCredentials {
  server: string;
  nodeName: string;
  ca: string;
  cert: string;
  key: string;
}

const CACERTS_PATH = '/k8ts/v1/cacerts';
const JOIN_PATH = '/k8ts/v1/join';

/** `K10<sha256 of the CA PEM>::server:<secret>`: the hash, when the token carries one. */
export function tokenCaHash(token: string): string | undefined {
  return /^K10([0-9a-f]{64})::/.exec(token.trim())?.[1];
}

function request(url: URL, opts: { method: string; ca?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method, headers: opts.headers, ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }), timeout: opts.timeoutMs ?? 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${opts.method} ${url.href}: timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export class JoinError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Joins (or re-uses stored credentials for) SERVER as NODENAME. */
export async function joinCluster(o: { server: string; token: string; nodeName: string; dataDir: string; warn?: (msg: string) => void }): Promise<JoinCredentials> {
  const dir = join(o.dataDir, 'agent');
  const file = join(dir, 'credentials.json');
  const want = tokenCaHash(o.token);
  if (existsSync(file)) {
    try {
      const c = JSON.parse(readFileSync(file, 'utf8')) as JoinCredentials;
      const sameCa = !want || createHash('sha256').update(c.ca).digest('hex') === want;
      if (c.server === o.server && c.nodeName === o.nodeName && sameCa && c.cert && c.key) return c;
    } catch {
      /* join again */
    }
  }
  const base = new URL(o.server);
  // 1. the CA, fetched without verification, trusted only if its hash matches the token
  const caRes = await request(new URL(CACERTS_PATH, base), { method: 'GET' });
  if (caRes.code !== 200 || !caRes.body.includes('BEGIN CERTIFICATE')) throw new JoinError(`${o.server} did not return its CA (HTTP ${caRes.code})`, caRes.code);
  const ca = caRes.body;
  if (want) {
    const got = createHash('sha256').update(ca).digest('hex');
    if (got !== want) throw new JoinError(`the server's CA (sha256 ${got}) does not match the join token (${want}): refusing to trust ${o.server}`);
  } else o.warn?.('the join token carries no CA hash: trusting the server CA on first use');
  // 2. the token for a client certificate, over TLS verified against that CA
  const body = JSON.stringify({ nodeName: o.nodeName });
  const r = await request(new URL(JOIN_PATH, base), { method: 'POST', ca, headers: { authorization: `Bearer ${o.token.trim()}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body });
  if (r.code !== 200) throw new JoinError(`join refused by ${o.server}: HTTP ${r.code} ${r.body}`, r.code);
  const got = JSON.parse(r.body) as { ca: string; cert: string; key: string };
  const creds: JoinCredentials = { server: o.server, nodeName: o.nodeName, ca, cert: got.cert, key: got.key };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(creds, null, 2), { mode: 0o600 });
  return creds;
}
