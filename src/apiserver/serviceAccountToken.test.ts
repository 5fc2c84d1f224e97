import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { ServiceAccountTokens, DEFAULT_ISSUER } from './serviceAccountToken.js';

const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

describe('ServiceAccount tokens', () => {
  const tokens = new ServiceAccountTokens(key());
  it('issues an ES256 JWT with upstream claims, and verifies it', () => {
    const now = Date.parse('2026-11-02T10:00:00Z');
    const t = tokens.issue({ namespace: 'ns', name: 'sa', uid: 'u1', expirationSeconds: 3600, pod: { name: 'p', uid: 'pu' }, node: { name: 'n1' } }, now);
    assert.equal(t.expirationTimestamp, '2026-11-02T11:00:00Z');
    const [h, b] = t.token.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
    assert.equal(h.alg, 'ES256');
    assert.ok(h.kid);
    assert.equal(b.iss, DEFAULT_ISSUER);
    assert.equal(b.sub, 'system:serviceaccount:ns:sa');
    assert.deepEqual(b.aud, [DEFAULT_ISSUER, 'k3s']);
    assert.equal(b.exp - b.iat, 3600);
    assert.deepEqual(b['kubernetes.io'], { namespace: 'ns', serviceaccount: { name: 'sa', uid: 'u1' }, pod: { name: 'p', uid: 'pu' }, node: { name: 'n1' } });
    const v = tokens.verify(t.token, now + 1000)!;
    assert.deepEqual(v.user, { username: 'system:serviceaccount:ns:sa', uid: 'u1', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns', 'system:authenticated'] });
    assert.deepEqual(v.pod, { name: 'p', uid: 'pu' });
    // expired, tampered, foreign key, other audience
    assert.equal(tokens.verify(t.token, now + 3600_000 + 120_000), undefined);
    const parts = t.token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...b, sub: 'system:serviceaccount:kube-system:admin' })).toString('base64url');
    assert.equal(tokens.verify(`${parts[0]}.${forged}.${parts[2]}`, now), undefined);
    assert.equal(new ServiceAccountTokens(key()).verify(t.token, now), undefined);
    const vault = tokens.issue({ namespace: 'ns', name: 'sa', uid: 'u1', expirationSeconds: 600, audiences: ['vault'] }, now);
    assert.equal(tokens.verify(vault.token, now), undefined, 'a token for another audience is not an API credential');
    assert.equal(tokens.verify('not.a.jwt'), undefined);
  });
});
