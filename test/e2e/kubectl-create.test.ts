// `kubectl create <kind>` generators (kubectl sends these as protobuf), `get -w`,
// `wait`, `diff`, `edit`, `replace`, `apply --prune`, `describe`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, run, type TestServer } from '../support/cluster.js';

let s: TestServer;

before(async () => {
  s = await startServer();
});
after(async () => {
  await s?.stop();
});

describe('kubectl create generators', () => {
  it('creates every common kind', async () => {
    const cases: [string, RegExp][] = [
      ['create namespace team-a', /namespace\/team-a created/],
      ['create deployment api --image=nginx:1.27 --replicas=2 --port=8080 -n team-a', /deployment.apps\/api created/],
      ['create service clusterip api --tcp=80:8080 -n team-a', /service\/api created/],
      ['create service nodeport np --tcp=80:8080 --node-port=30123 -n team-a', /service\/np created/],
      ['create configmap settings --from-literal=mode=fast -n team-a', /configmap\/settings created/],
      ['create secret generic creds --from-literal=user=admin -n team-a', /secret\/creds created/],
      ['create job once --image=busybox -n team-a -- echo hi', /job.batch\/once created/],
      ['create cronjob tick --image=busybox --schedule=*/5_*_*_*_* -n team-a -- date', /cronjob.batch\/tick created/],
      ['create role reader --verb=get,list --resource=pods -n team-a', /role.rbac.authorization.k8s.io\/reader created/],
      ['create rolebinding reader-binding --role=reader --user=jane -n team-a', /rolebinding.rbac.authorization.k8s.io\/reader-binding created/],
      ['create clusterrole viewer --verb=get --resource=nodes', /clusterrole.rbac.authorization.k8s.io\/viewer created/],
      ['create serviceaccount robot -n team-a', /serviceaccount\/robot created/],
      ['create quota small --hard=pods=10,cpu=2 -n team-a', /resourcequota\/small created/],
      ['create priorityclass high --value=1000 --description=important', /priorityclass.scheduling.k8s.io\/high created/],
      ['create ingress web --rule=example.com/=api:80 -n team-a', /ingress.networking.k8s.io\/web created/],
      ['create poddisruptionbudget pdb --selector=app=api --min-available=1 -n team-a', /poddisruptionbudget.policy\/pdb created/],
    ];
    for (const [cmd, want] of cases) {
      const args = cmd.split(' ').map((a) => a.replace(/_/g, ' '));
      assert.match(await s.k(args), want, cmd);
    }
    const all = await s.k('get deploy,svc,cm,secret,job,cronjob,sa,quota,ingress,pdb -n team-a');
    assert.match(all, /deployment.apps\/api\s+0\/2/);
    assert.match(all, /service\/np\s+NodePort\s+10\.43\.\d+\.\d+\s+<none>\s+80:30123\/TCP/);
    assert.match(all, /cronjob.batch\/tick\s+\*\/5 \* \* \* \*/);
    assert.match(all, /ingress.networking.k8s.io\/web\s+<none>\s+example.com/);
    const job = JSON.parse(await s.k('get job once -n team-a -o json'));
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    assert.equal(job.spec.backoffLimit, 6);
    assert.ok(job.spec.selector.matchLabels['batch.kubernetes.io/controller-uid']);
    const secret = JSON.parse(await s.k('get secret creds -n team-a -o json'));
    assert.equal(Buffer.from(secret.data.user, 'base64').toString(), 'admin');
    assert.match(await s.k('get rolebinding reader-binding -n team-a -o wide'), /Role\/reader\s+\S+\s+jane/);
  });

  it('delete namespace removes everything in it, then the namespace', async () => {
    assert.match(await s.k(['get', 'all', '-n', 'team-a', '-o', 'name']), /deployment.apps\/api/);
    const r = await s.kubectl(['delete', 'namespace', 'team-a', '--timeout=30s'], { timeoutMs: 40_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace "team-a" deleted/);
    const gone = await s.kubectl(['get', 'namespace', 'team-a']);
    assert.match(gone.stderr, /namespaces "team-a" not found/);
    assert.equal(await s.k(['get', 'deploy,cm,secret,svc', '-n', 'team-a', '-o', 'name']), '');
  });

  it('get -w streams table rows; wait --for; diff; edit; replace; describe', async () => {
    await s.k('create deployment watched --image=nginx --replicas=1');
    const w = s.kubectl(['get', 'deploy', 'watched', '-w', '--request-timeout=4s'], { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 1200));
    await s.k('scale deploy watched --replicas=3');
    const out = (await w).stdout;
    assert.match(out, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nwatched\s+0\/1\s+/);
    assert.match(out, /^watched\s+0\/3\s+/m);
    assert.match(await s.k(['wait', '--for=jsonpath={.spec.replicas}=3', 'deploy/watched', '--timeout=10s']), /condition met/);
    const manifest = (await s.k('get deploy watched -o yaml')).replace(/replicas: 3/, 'replicas: 5');
    const diff = await s.kubectl(['diff', '-f', '-'], { input: manifest });
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /-  replicas: 3\n\+  replicas: 5/);
    const ed = await run('kubectl', ['edit', 'deploy', 'watched'], { env: { KUBECONFIG: s.kubeconfig, EDITOR: 'sed -i s/replicas:\\ 3/replicas:\\ 4/' } });
    assert.match(ed.stdout, /deployment.apps\/watched edited/, ed.stderr);
    assert.equal(await s.k(['get', 'deploy', 'watched', '-o', 'jsonpath={.spec.replicas}']), '4');
    const rep = (await s.k('get deploy watched -o yaml')).replace(/replicas: 4/, 'replicas: 2');
    assert.match(await s.k(['replace', '-f', '-'], rep), /deployment.apps\/watched replaced/);
    const d = await s.k('describe deployment watched');
    assert.match(d, /^Name:\s+watched$/m);
    assert.match(d, /^Replicas:\s+2 desired/m);
    assert.match(d, /RollingUpdateStrategy:\s+25% max unavailable, 25% max surge/);
  });

  it('apply --prune removes labelled objects no longer in the file', async () => {
    const cm = (n: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${n}\n  labels:\n    set: prune-demo\n`;
    await s.k(['apply', '-f', '-'], cm('keep') + '---\n' + cm('drop'));
    const out = await s.k(['apply', '--prune', '-l', 'set=prune-demo', '--prune-allowlist=core/v1/ConfigMap', '-f', '-'], cm('keep'));
    assert.match(out, /configmap\/keep unchanged/);
    assert.match(out, /configmap\/drop pruned/);
    assert.equal(await s.k(['get', 'cm', '-l', 'set=prune-demo', '-o', 'name']), 'configmap/keep\n');
  });
});
