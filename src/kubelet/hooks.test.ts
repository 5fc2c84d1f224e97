import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runHook, runPreStop } from './hooks.js';
import type { ExecFn } from './probes.js';

let server: http.Server;
let port = 0;
const hits: string[] = [];
before(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    res.writeHead(req.url === '/fail' ? 500 : 200).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

const execs: string[][] = [];
const exec: ExecFn = async (_id, cmd, timeoutMs) => {
  execs.push(cmd);
  if (cmd[0] === 'sleep') {
    await new Promise((r) => setTimeout(r, Math.min(Number(cmd[1]) * 1000, timeoutMs)));
    if (Number(cmd[1]) * 1000 > timeoutMs) throw new Error('timed out');
  }
  return { exitCode: cmd[0] === 'false' ? 1 : 0, stdout: '', stderr: cmd[0] === 'false' ? 'nope' : '' };
};
const opts = { exec, podIP: () => '127.0.0.1', container: { name: 'c' } };

describe('lifecycle hooks', () => {
  it('exec', async () => {
    assert.deepEqual(await runHook({ exec: { command: ['true'] } }, 'id', opts), { ok: true, message: '' });
    const r = await runHook({ exec: { command: ['false'] } }, 'id', opts);
    assert.equal(r.ok, false);
    assert.equal(r.message, 'Exec lifecycle hook (["false"]) for Container "c" failed - error: nope');
  });
  it('httpGet to the pod IP', async () => {
    assert.equal((await runHook({ httpGet: { path: '/started', port } }, 'id', opts)).ok, true);
    assert.equal(hits.at(-1), '/started');
    const r = await runHook({ httpGet: { path: '/fail', port } }, 'id', opts);
    assert.equal(r.ok, false);
    assert.match(r.message, /HTTP lifecycle hook \(\/fail\) for Container "c" failed - error: HTTP probe failed with statuscode: 500/);
  });
  it('sleep, bounded by the timeout and abortable', async () => {
    let t = Date.now();
    assert.equal((await runHook({ sleep: { seconds: 1 } }, 'id', opts)).ok, true);
    assert.ok(Date.now() - t >= 950);
    t = Date.now();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await runHook({ sleep: { seconds: 30 } }, 'id', { ...opts, signal: ac.signal });
    assert.ok(Date.now() - t < 1000);
  });
  it('preStop uses the grace period and returns what is left', async () => {
    const t = Date.now();
    const r = await runPreStop({ exec: { command: ['sleep', '10'] } }, 'id', opts, 1);
    assert.ok(Date.now() - t < 2000);
    assert.equal(r.ok, false);
    assert.equal(r.remainingSeconds, 2, 'at least 2 s after a preStop hook');
    const quick = await runPreStop({ exec: { command: ['true'] } }, 'id', opts, 30);
    assert.equal(quick.ok, true);
    assert.ok(quick.remainingSeconds >= 29);
  });
});
