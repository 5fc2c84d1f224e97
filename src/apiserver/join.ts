// Node join tokens (k3s style `K10<sha256 of the CA PEM>::server:<secret>`) and
// the two unauthenticated endpoints an agent uses to join:
//   GET  /k8ts/v1/cacerts  the cluster CA (the agent checks it against the hash in its token)
//   POST /k8ts/v1/join     Bearer <token>, {nodeName} → {ca, cert, key} for system:node:<nodeName>
// Tokens live in the server's data dir: DATA_DIR/token (the one made on first
// start) and DATA_DIR/tokens (every valid token, one a line; `k8ts token create` appends).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { issueCertificate, type KeyPairPem } from './pki.js';

export const CACERTS_PATH = '/k8ts/v1/cacerts';
export const JOIN_PATH = '/k8ts/v1/join';

export function caHash(caPem: string): string {
  return createHash('sha256').update(caPem).digest('hex');
}

export interface ParsedToken {
  caHash?: string;
  secret: string;
}

/** `K10<hash>::server:<secret>` or a bare secret. */
export function parseToken(token: string): ParsedToken {
  const m = /^K10([0-9a-f]{64})::[^:]+:(.+)$/.exec(token.trim());
  return m ? { caHash: m[1], secret: m[2] } : { secret: token.trim() };
}

export function formatToken(caPem: string, secret: string): string {
  return `K10${caHash(caPem)}::server:${secret}`;
}

function tokensFile(dataDir: string): string {
  return join(dataDir, 'tokens');
}

/** A new token, appended to DATA_DIR/tokens. */
export function createToken(dataDir: string, caPem: string): string {
  const token = formatToken(caPem, randomBytes(24).toString('hex'));
  appendFileSync(tokensFile(dataDir), `${token}\n`, { mode: 0o600 });
  return token;
}

/** DATA_DIR/token: made once, reused on restart (mode 0600). */
export function ensureServerToken(dataDir: string, caPem: string): string {
  const file = join(dataDir, 'token');
  if (existsSync(file)) {
    const t = readFileSync(file, 'utf8').trim();
    if (t) return t;
  }
  const token = createToken(dataDir, caPem);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

function knownSecrets(dataDir: string): string[] {
  const out: string[] = [];
  for (const f of [join(dataDir, 'token'), tokensFile(dataDir)]) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) if (line.trim()) out.push(parseToken(line).secret);
  }
  return out;
}

/** Constant-time: compares digests, so length differences leak nothing either. */
export function tokenValid(dataDir: string, caPem: string, presented: string): boolean {
  const p = parseToken(presented);
  if (p.caHash !== undefined && p.caHash !== caHash(caPem)) return false;
  const want = createHash('sha256').update(p.secret).digest();
  let ok = false;
  for (const s of knownSecrets(dataDir)) if (timingSafeEqual(createHash('sha256').update(s).digest(), want)) ok = true;
  return ok;
}

const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function reply(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let s = '';
  for await (const chunk of req) {
    s += chunk;
    if (s.length > limit) throw new Error('body too large');
  }
  return s;
}

/**
 * The join endpoints, served before authentication. Returns false for any other path.
 * The issued key is made by the server (issueCertificate generates the pair) and
 * travels once over the TLS connection the agent pinned to the CA.
 */
export function joinHandler(dataDir: string, ca: KeyPairPem): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean> {
  return async (req, res, path) => {
    if (path === CACERTS_PATH && req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      res.end(ca.cert);
      return true;
    }
    if (path !== JOIN_PATH) return false;
    if (req.method !== 'POST') {
      reply(res, 405, { message: 'use POST' });
      return true;
    }
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !tokenValid(dataDir, ca.cert, auth.slice(7))) {
      reply(res, 401, { message: 'invalid join token' });
      return true;
    }
    let nodeName = '';
    try {
      nodeName = String(JSON.parse(await readBody(req)).nodeName ?? '');
    } catch {
      /* answered below */
    }
    if (!NODE_NAME.test(nodeName)) {
      reply(res, 400, { message: 'body must be {"nodeName": "<DNS-1123 subdomain>"}' });
      return true;
    }
    // O=system:masters until RBAC exists (like the in-server kubelet's identity)
    const kp = await issueCertificate(ca, `CN=system:node:${nodeName}, O=system:nodes, O=system:masters`, { client: true });
    reply(res, 200, { ca: ca.cert, cert: kp.cert, key: kp.key });
    return true;
  };
}
