// Jobs and CronJobs end to end on 3 simulated nodes with the real kubectl:
// completions/parallelism (watched pod by pod), Indexed jobs, backoffLimit,
// podFailurePolicy, CronJob scheduling of a missed schedule time, manual
// `kubectl create job --from=cronjob/…`, history limits, ttlSecondsAfterFinished.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startServer, type TestServer } from '../support/cluster.js';
import { RawClient } from '../support/http.js';

let s: TestServer;
let raw: RawClient;

const job = (name: string, spec: Record<string, unknown>, annotations: Record<string, string> = {}, podSpec: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      ...spec,
      template: {
        metadata: { annotations: { 'simulator.k8ts.io/run-seconds': '1', ...annotations } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }], ...podSpec },
      },
    },
  });

const getJson = async (args: string) => JSON.parse(await s.k(`${args} -o json`));

before(async () => {
  s = await startServer({ args: ['--simulated-nodes', '3'] });
  raw = new RawClient(s.kubeconfig);
  await eventually(async () => (await getJson('get nodes')).items.length === 3, 20_000, '3 simulated nodes');
});
after(async () => {
  await s?.stop();
});

describe('jobs', { concurrency: true }, () => {
  it('completions=5 parallelism=2 completes, never more than 2 pods active', async () => {
    const active = new Set<string>();
    const seen = new Set<string>();
    let maxActive = 0;
    const w = raw.watch('/api/v1/namespaces/default/pods?watch=true&labelSelector=batch.kubernetes.io%2Fjob-name%3Dfive', (ev) => {
      const p = ev.object;
      const name = p.metadata.name;
      seen.add(name);
      const running = ev.type !== 'DELETED' && !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
      if (running) active.add(name);
      else active.delete(name);
      maxActive = Math.max(maxActive, active.size);
    });
    try {
      await s.k(['apply', '-f', '-'], job('five', { completions: 5, parallelism: 2 }));
      const r = await s.kubectl(['wait', '--for=condition=complete', 'job/five', '--timeout=40s'], { timeoutMs: 45_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /job.batch\/five condition met/);
    } finally {
      w.close();
    }
    assert.ok(maxActive <= 2, `at most 2 active pods at once, saw ${maxActive}`);
    assert.equal(maxActive, 2, 'parallelism is used');
    const j = await getJson('get job five');
    assert.equal(j.status.succeeded, 5);
    assert.equal(j.status.failed, undefined);
    assert.ok(j.status.completionTime);
    assert.deepEqual(j.status.conditions.map((c: any) => `${c.type}=${c.status}:${c.reason}`), ['SuccessCriteriaMet=True:CompletionsReached', 'Complete=True:CompletionsReached']);
    const pods = (await getJson('get pods -l job-name=five')).items;
    assert.equal(pods.length, 5);
    assert.equal(seen.size, 5, 'no extra pods were created');
    for (const p of pods) {
      assert.equal(p.status.phase, 'Succeeded');
      assert.deepEqual(p.metadata.finalizers ?? [], [], 'tracking finalizer removed');
      assert.equal(p.metadata.ownerReferences[0].kind, 'Job');
      assert.equal(p.metadata.labels['batch.kubernetes.io/controller-uid'], j.metadata.uid);
      assert.ok(p.spec.nodeName, 'scheduled on a simulated node');
    }
    assert.match(await s.k('get job five'), /five\s+Complete\s+5\/5/);
    const events = await s.k('get events --field-selector involvedObject.name=five');
    assert.match(events, /SuccessfulCreate\s+job\/five\s+Created pod: five-/);
    assert.match(events, /Completed\s+job\/five\s+Job completed/);
  });

  it('Indexed job: one pod per index, completedIndexes', async () => {
    await s.k(['apply', '-f', '-'], job('ix', { completions: 3, parallelism: 3, completionMode: 'Indexed' }));
    const r = await s.kubectl(['wait', '--for=condition=complete', 'job/ix', '--timeout=40s'], { timeoutMs: 45_000 });
    assert.equal(r.code, 0, r.stderr);
    const j = await getJson('get job ix');
    assert.equal(j.status.completedIndexes, '0-2');
    const pods = (await getJson('get pods -l job-name=ix')).items;
    const byIndex = pods.map((p: any) => [p.metadata.annotations['batch.kubernetes.io/job-completion-index'], p.spec.hostname]).sort();
    assert.deepEqual(byIndex, [['0', 'ix-0'], ['1', 'ix-1'], ['2', 'ix-2']]);
  });

  it('a failing job fails with BackoffLimitExceeded after backoffLimit retries', async () => {
    await s.k(['apply', '-f', '-'], job('bad', { backoffLimit: 1 }, { 'simulator.k8ts.io/run-seconds': '0', 'simulator.k8ts.io/exit-code': '3' }));
    // two failures, 10 s back-off between them
    const r = await s.kubectl(['wait', '--for=condition=failed', 'job/bad', '--timeout=40s'], { timeoutMs: 45_000 });
    assert.equal(r.code, 0, r.stderr);
    const j = await getJson('get job bad');
    assert.equal(j.status.failed, 2);
    const failed = j.status.conditions.find((c: any) => c.type === 'Failed');
    assert.equal(failed.reason, 'BackoffLimitExceeded');
    assert.equal(failed.message, 'Job has reached the specified backoff limit');
    assert.equal((await getJson('get pods -l job-name=bad')).items.length, 2);
  });

  it('podFailurePolicy FailJob on an exit code fails at once', async () => {
    const spec = { backoffLimit: 6, podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } }] } };
    await s.k(['apply', '-f', '-'], job('pfp', spec, { 'simulator.k8ts.io/run-seconds': '0', 'simulator.k8ts.io/exit-code': '42' }));
    const r = await s.kubectl(['wait', '--for=condition=failed', 'job/pfp', '--timeout=30s'], { timeoutMs: 35_000 });
    assert.equal(r.code, 0, r.stderr);
    const failed = (await getJson('get job pfp')).status.conditions.find((c: any) => c.type === 'Failed');
    assert.equal(failed.reason, 'PodFailurePolicy');
    assert.match(failed.message, /^Container main for pod default\/pfp-\w+ failed with exit code 42 matching FailJob rule at index 0$/);
  });

  it('ttlSecondsAfterFinished deletes the finished job and its pods', async () => {
    await s.k(['apply', '-f', '-'], job('short', { ttlSecondsAfterFinished: 1 }));
    await eventually(async () => (await s.kubectl(['get', 'job', 'short'])).stderr.includes('not found'), 30_000, 'job deleted after its TTL');
    await eventually(async () => (await getJson('get pods -l job-name=short')).items.length === 0, 20_000, 'pods collected');
  });

  it('CronJob runs a missed schedule time, kubectl create job --from works, history limit kept', async () => {
    const cj = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick' },
      spec: {
        schedule: '* * * * *',
        startingDeadlineSeconds: 300,
        successfulJobsHistoryLimit: 1,
        jobTemplate: { spec: { template: { metadata: { annotations: { 'simulator.k8ts.io/run-seconds': '1' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } } } },
      },
    };
    await s.k(['apply', '-f', '-'], JSON.stringify(cj));
    // pretend the last run was three minutes ago: the latest minute is due now
    const last = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 3 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await s.k(['patch', 'cronjob', 'tick', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { lastScheduleTime: last } })]);
    const first = await eventually(async () => (await getJson('get jobs')).items.find((j: any) => j.metadata.ownerReferences?.[0]?.name === 'tick'), 15_000, 'a scheduled job');
    const minutes = Number(first.metadata.name.split('-')[1]);
    assert.ok(minutes * 60_000 > Date.parse(last) && minutes * 60_000 <= Date.now(), `job named after its schedule minute: ${first.metadata.name}`);
    assert.equal(first.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(minutes * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'));
    assert.deepEqual([first.metadata.ownerReferences[0].kind, first.metadata.ownerReferences[0].controller], ['CronJob', true]);
    const st = (await getJson('get cronjob tick')).status;
    assert.equal(Date.parse(st.lastScheduleTime), minutes * 60_000);
    await eventually(async () => (await getJson(`get job ${first.metadata.name}`)).status.succeeded === 1, 20_000, 'scheduled job completes');
    await eventually(async () => (await getJson('get cronjob tick')).status.lastSuccessfulTime, 10_000, 'lastSuccessfulTime');

    // a manual run from the template, as kubectl builds it client-side
    assert.match(await s.k('create job manual --from=cronjob/tick'), /job.batch\/manual created/);
    const manual = await getJson('get job manual');
    assert.equal(manual.metadata.annotations['cronjob.kubernetes.io/instantiate'], 'manual');
    assert.equal(manual.metadata.ownerReferences[0].name, 'tick');
    const w = await s.kubectl(['wait', '--for=condition=complete', 'job/manual', '--timeout=30s'], { timeoutMs: 35_000 });
    assert.equal(w.code, 0, w.stderr);
    // successfulJobsHistoryLimit 1: the older finished job goes, the newer stays
    await eventually(async () => (await s.kubectl(['get', 'job', first.metadata.name])).stderr.includes('not found'), 15_000, 'old job removed by the history limit');
    assert.ok((await getJson('get job manual')).metadata.uid);
    const events = await s.k('get events --field-selector involvedObject.name=tick');
    assert.match(events, /SuccessfulCreate\s+cronjob\/tick\s+Created job tick-\d+/);
    assert.match(events, /SuccessfulDelete\s+cronjob\/tick\s+Deleted job tick-\d+/);
  });
});
