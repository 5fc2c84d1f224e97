import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/kind.js';
import { InformerFactory } from '../client/factory.js';
import { FakeApi, settle } from './fakeApi.js';
import { JobController } from './job.js';
import { formatIndexes, parseIndexes, remainingBackoff, trackingFinalizer } from './jobutil.js';

let factory: InformerFactory | undefined;
afterEach(() => factory?.stop());

async function setup() {
  const clock = { now: Date.parse('2024-01-01T00:00:00Z') };
  const api = new FakeApi(() => clock.now);
  factory = new InformerFactory(api.asClient);
  const c = new JobController(factory, undefined, undefined, { now: () => clock.now });
  await factory.start();
  const create = async (name: string, spec: Record<string, unknown>) => {
    const job = await api.request('POST', '/apis/batch/v1/namespaces/default/jobs', {
      metadata: { name },
      spec: { parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', podReplacementPolicy: 'TerminatingOrFailed', template: { metadata: { labels: { app: name } }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox' }] } }, ...spec },
    });
    await settle();
    return job;
  };
  /** reconcile until nothing changes (bounded) */
  const sync = async (name: string) => {
    let r: void | number = undefined;
    for (let i = 0; i < 10; i++) {
      const before = api.log.length;
      r = await c.reconcile(`default/${name}`);
      await settle();
      if (api.log.length === before) break;
    }
    return r;
  };
  const pods = (name: string) => api.items('pods', 'default').filter((p) => p.metadata!.ownerReferences?.[0]?.name === name);
  const active = (name: string) => pods(name).filter((p) => !p.status?.phase || p.status.phase === 'Pending' || p.status.phase === 'Running');
  const job = (name: string) => api.get('jobs', 'default', name)!;
  const finishPod = async (p: KubeObject, phase: 'Succeeded' | 'Failed', exitCode = phase === 'Succeeded' ? 0 : 1) => {
    const cur = api.get('pods', 'default', p.metadata!.name!)!;
    cur.status = { phase, containerStatuses: [{ name: 'main', restartCount: 0, state: { terminated: { exitCode, finishedAt: new Date(clock.now).toISOString() } } }] };
    api.put('pods', cur);
    await settle();
  };
  const cond = (name: string, type: string) => job(name).status?.conditions?.find((x: KubeObject) => x.type === type);
  return { clock, api, c, create, sync, pods, active, job, finishPod, cond };
}

describe('index sets', () => {
  it('formats and parses', () => {
    assert.equal(formatIndexes([4, 0, 1, 2, 7, 8]), '0-2,4,7,8');
    assert.deepEqual([...parseIndexes('0-2,4,7,8')], [0, 1, 2, 4, 7, 8]);
    assert.deepEqual([...parseIndexes('0-5', 3)], [0, 1, 2]);
  });
  it('back-off doubles from 10s and caps at 6 minutes', () => {
    assert.equal(remainingBackoff(0, 0, 0), 0);
    assert.equal(remainingBackoff(1, 1000, 1000), 10_000);
    assert.equal(remainingBackoff(3, 1000, 6000), 35_000);
    assert.equal(remainingBackoff(20, 0, 0), 360_000);
  });
});

describe('Job controller', () => {
  it('runs completions=5 with parallelism 2, counting through the tracking finalizer', async () => {
    const h = await setup();
    const j = await h.create('five', { completions: 5, parallelism: 2 });
    await h.sync('five');
    let ps = h.pods('five');
    assert.equal(ps.length, 2);
    const p0 = ps[0];
    assert.equal(p0.metadata!.generateName, 'five-');
    assert.deepEqual(p0.metadata!.finalizers, [trackingFinalizer]);
    assert.equal(p0.metadata!.labels!['batch.kubernetes.io/controller-uid'], j.metadata!.uid);
    assert.equal(p0.metadata!.labels!['batch.kubernetes.io/job-name'], 'five');
    assert.equal(p0.metadata!.ownerReferences![0].uid, j.metadata!.uid);
    assert.equal(h.job('five').status.active, 2);
    assert.ok(h.job('five').status.startTime);
    for (let round = 0; round < 10 && !h.cond('five', 'Complete'); round++) {
      const act = h.active('five');
      assert.ok(act.length <= 2, `never more than parallelism active (saw ${act.length})`);
      if (act[0]) await h.finishPod(act[0], 'Succeeded');
      await h.sync('five');
    }
    const st = h.job('five').status;
    assert.equal(st.succeeded, 5);
    assert.equal(h.pods('five').length, 5, 'no extra pods');
    assert.equal(h.cond('five', 'Complete')?.reason, 'CompletionsReached');
    assert.equal(h.cond('five', 'SuccessCriteriaMet')?.status, 'True');
    assert.ok(st.completionTime);
    assert.deepEqual(st.uncountedTerminatedPods, {});
    assert.ok(h.pods('five').every((p) => !p.metadata!.finalizers?.length), 'finalizers removed once counted');
    const create = h.api.items('events', 'default').filter((e) => e.reason === 'SuccessfulCreate');
    assert.match(create[0].message, /^Created pod: five-/);
    assert.ok(h.api.items('events', 'default').some((e) => e.reason === 'Completed' && e.message === 'Job completed'));
  });

  it('a succeeded pod goes through uncountedTerminatedPods before it is counted', async () => {
    const h = await setup();
    await h.create('one', { completions: 1 });
    await h.sync('one');
    const [p] = h.pods('one');
    await h.finishPod(p, 'Succeeded');
    const from = h.api.log.length;
    await h.c.reconcile('default/one');
    const writes = h.api.log.slice(from).filter((l) => l.startsWith('PUT jobs/status') || l.startsWith('PATCH pods'));
    // (1) status with the uid uncounted, (2) finalizer removed, (3) status with the counter, (4) conditions
    assert.deepEqual(writes.map((l) => l.split(' ')[1]), ['jobs/status', 'pods', 'jobs/status', 'jobs/status']);
    assert.equal(h.job('one').status.succeeded, 1);
  });

  it('Indexed: one pod per index with hostname and index annotation, completedIndexes', async () => {
    const h = await setup();
    await h.create('ix', { completions: 4, parallelism: 4, completionMode: 'Indexed' });
    await h.sync('ix');
    const ps = h.pods('ix').sort((a, b) => a.metadata!.annotations!['batch.kubernetes.io/job-completion-index'].localeCompare(b.metadata!.annotations!['batch.kubernetes.io/job-completion-index']));
    assert.deepEqual(ps.map((p) => p.metadata!.annotations!['batch.kubernetes.io/job-completion-index']), ['0', '1', '2', '3']);
    assert.deepEqual(ps.map((p) => p.spec.hostname), ['ix-0', 'ix-1', 'ix-2', 'ix-3']);
    assert.equal(ps[2].metadata!.generateName, 'ix-2-');
    assert.equal(ps[2].metadata!.labels!['batch.kubernetes.io/job-completion-index'], '2');
    assert.ok(ps[0].spec.containers[0].env.some((e: KubeObject) => e.name === 'JOB_COMPLETION_INDEX'));
    await h.finishPod(ps[0], 'Succeeded');
    await h.finishPod(ps[1], 'Succeeded');
    await h.finishPod(ps[3], 'Succeeded');
    await h.sync('ix');
    assert.equal(h.job('ix').status.completedIndexes, '0,1,3');
    await h.finishPod(ps[2], 'Failed');
    assert.equal(await h.sync('ix'), 10_000, 'back-off before the index is retried');
    h.clock.now += 10_000;
    await h.sync('ix');
    const again = h.active('ix');
    assert.equal(again.length, 1);
    assert.equal(again[0].metadata!.annotations!['batch.kubernetes.io/job-completion-index'], '2', 'the failed index is retried');
  });

  it('backoffLimit: failures back off exponentially, then the job fails with BackoffLimitExceeded', async () => {
    const h = await setup();
    await h.create('bad', { backoffLimit: 1 });
    await h.sync('bad');
    await h.finishPod(h.active('bad')[0], 'Failed');
    const wait = await h.sync('bad');
    assert.equal(h.job('bad').status.failed, 1);
    assert.equal(h.active('bad').length, 0, 'no replacement during the back-off');
    assert.equal(wait, 10_000);
    h.clock.now += 10_000;
    await h.sync('bad');
    assert.equal(h.active('bad').length, 1);
    await h.finishPod(h.active('bad')[0], 'Failed');
    await h.sync('bad');
    assert.equal(h.job('bad').status.failed, 2);
    assert.equal(h.cond('bad', 'FailureTarget')?.reason, 'BackoffLimitExceeded');
    assert.equal(h.cond('bad', 'Failed')?.reason, 'BackoffLimitExceeded');
    assert.equal(h.cond('bad', 'Failed')?.message, 'Job has reached the specified backoff limit');
    assert.equal(h.pods('bad').length, 2);
  });

  it('podFailurePolicy: Ignore does not count, FailJob fails the job', async () => {
    const h = await setup();
    await h.create('pfp', {
      podReplacementPolicy: 'Failed',
      podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }, { action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } }] },
    });
    await h.sync('pfp');
    const p = h.active('pfp')[0];
    const cur = h.api.get('pods', 'default', p.metadata!.name!)!;
    cur.status = { phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True' }] };
    h.api.put('pods', cur);
    await settle();
    await h.sync('pfp');
    assert.equal(h.job('pfp').status.failed, undefined, 'ignored failure not counted');
    assert.equal(h.active('pfp').length, 1, 'replacement created without back-off');
    await h.finishPod(h.active('pfp')[0], 'Failed', 42);
    await h.sync('pfp');
    assert.equal(h.cond('pfp', 'Failed')?.reason, 'PodFailurePolicy');
    assert.match(h.cond('pfp', 'Failed')?.message, /^Container main for pod default\/pfp-\S+ failed with exit code 42 matching FailJob rule at index 1$/);
  });

  it('activeDeadlineSeconds: deletes the pods and fails with DeadlineExceeded', async () => {
    const h = await setup();
    await h.create('slow', { activeDeadlineSeconds: 30 });
    const wait = await h.sync('slow');
    assert.equal(wait, 30_000);
    h.clock.now += 30_000;
    await h.sync('slow');
    assert.equal(h.pods('slow').length, 0, 'pod deleted (unscheduled pods go at once)');
    assert.equal(h.cond('slow', 'Failed')?.reason, 'DeadlineExceeded');
    assert.equal(h.cond('slow', 'Failed')?.message, 'Job was active longer than specified deadline');
  });

  it('suspend deletes active pods without counting failures; resume restarts', async () => {
    const h = await setup();
    await h.create('sus', { parallelism: 2, completions: 4 });
    await h.sync('sus');
    assert.equal(h.active('sus').length, 2);
    const j = h.job('sus');
    j.spec.suspend = true;
    h.api.put('jobs', j);
    await settle();
    await h.sync('sus');
    assert.equal(h.pods('sus').length, 0);
    assert.equal(h.cond('sus', 'Suspended')?.status, 'True');
    assert.equal(h.cond('sus', 'Suspended')?.reason, 'JobSuspended');
    assert.equal(h.job('sus').status.failed, undefined);
    const j2 = h.job('sus');
    j2.spec.suspend = false;
    h.api.put('jobs', j2);
    await settle();
    h.clock.now += 5000;
    await h.sync('sus');
    assert.equal(h.active('sus').length, 2);
    assert.equal(h.cond('sus', 'Suspended')?.status, 'False');
    assert.equal(h.cond('sus', 'Suspended')?.reason, 'JobResumed');
    assert.equal(h.job('sus').status.startTime, '2024-01-01T00:00:05Z');
  });

  it('releases the finalizers of pods whose job was deleted', async () => {
    const h = await setup();
    await h.create('gone', {});
    await h.sync('gone');
    const [p] = h.pods('gone');
    await h.api.request('DELETE', '/apis/batch/v1/namespaces/default/jobs/gone', {});
    await settle();
    await h.c.reconcile('default/gone');
    await settle();
    assert.deepEqual(h.api.get('pods', 'default', p.metadata!.name!)!.metadata!.finalizers ?? [], []);
  });
});
