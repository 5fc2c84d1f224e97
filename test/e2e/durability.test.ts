// SIGKILL during a stream of creates loses no acknowledged create; a clean
// restart keeps every object.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../support/cluster.js';
import { RawClient } from '../support/http.js';

let s: TestServer;

before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.stop();
});

describe('durability', () => {
  it('keeps every acknowledged create across kill -9', async () => {
    const c = new RawClient(s.kubeconfig);
    const acked: string[] = [];
    let n = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && n < 20_000) {
        const name = `cm-${n++}`;
        try {
          const r = await c.request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name }, data: { v: name } });
          if (r.status === 201) acked.push(name);
        } catch {
          return; // the server died under us
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    // let creates flow, then kill the server in the middle of them
    const until = Date.now() + 20_000;
    while (acked.length < 300 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await s.kill();
    stop = true;
    await Promise.all(workers);
    c.close();
    assert.ok(acked.length > 100, `only ${acked.length} creates acknowledged before the kill`);
    await s.restart();
    const c2 = new RawClient(s.kubeconfig);
    const list = (await c2.request('GET', '/api/v1/namespaces/default/configmaps')).json();
    const names = new Set(list.items.map((i: any) => i.metadata.name));
    const lost = acked.filter((a) => !names.has(a));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged creates lost`);
    c2.close();
  });

  it('a clean restart keeps objects and resourceVersions move forward', async () => {
    await s.k('create configmap before-restart --from-literal=a=b');
    const rv1 = Number(await s.k(['get', 'cm', 'before-restart', '-o', 'jsonpath={.metadata.resourceVersion}']));
    await s.restart();
    assert.equal(await s.k(['get', 'cm', 'before-restart', '-o', 'jsonpath={.data.a}']), 'b');
    await s.k('create configmap after-restart');
    const rv2 = Number(await s.k(['get', 'cm', 'after-restart', '-o', 'jsonpath={.metadata.resourceVersion}']));
    assert.ok(rv2 > rv1);
    // a watch from before the restart is older than the new watch cache: 410 Gone, in-stream
    const c = new RawClient(s.kubeconfig);
    const evs: any[] = [];
    await c.watch(`/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv1 - 1}&timeoutSeconds=5`, (e) => evs.push(e)).done;
    c.close();
    assert.equal(evs.at(-1)?.type, 'ERROR');
    assert.equal(evs.at(-1)?.object.code, 410);
    assert.equal(evs.at(-1)?.object.reason, 'Expired');
  });
});
