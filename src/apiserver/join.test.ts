import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caHash, createToken, ensureServerToken, parseToken, tokenValid } from './join.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('join tokens', () => {
  it('formats, parses and validates tokens kept in the data dir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8ts-join-'));
    try {
      const t = ensureServerToken(dir, CA);
      assert.equal(ensureServerToken(dir, CA), t, 'reused on restart');
      assert.equal(statSync(join(dir, 'token')).mode & 0o777, 0o600);
      assert.deepEqual(parseToken(t), { caHash: caHash(CA), secret: t.split('::server:')[1] });
      assert.ok(tokenValid(dir, CA, t));
      assert.ok(tokenValid(dir, CA, parseToken(t).secret), 'bare secret');
      assert.ok(!tokenValid(dir, CA, `${t}x`));
      assert.ok(!tokenValid(dir, CA, t.replace(/^K10[0-9a-f]{4}/, 'K10ffff')), 'other CA hash');
      assert.ok(!tokenValid(dir, CA, ''));
      const t2 = createToken(dir, CA);
      assert.notEqual(t2, t);
      assert.ok(tokenValid(dir, CA, t2));
      assert.equal(readFileSync(join(dir, 'tokens'), 'utf8').trim().split('\n').length, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
