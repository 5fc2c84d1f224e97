import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/kind.js';
import { InformerFactory } from '../client/factory.js';
import { CronJobController, jobNameFor, scheduledTimestampAnnotation } from './cronjob.js';
import { FakeApi, settle } from './fakeApi.js';

const T = (s: string) => Date.parse(s);

let factory: InformerFactory | undefined;
afterEach(() => factory?.stop());

async function setup(start: string) {
  const clock = { now: T(start) };
  const api = new FakeApi(() => clock.now);
  factory = new InformerFactory(api.asClient);
  const c = new CronJobController(factory, undefined, undefined, { now: () => clock.now });
  await factory.start();
  const create = async (name: string, spec: Record<string, unknown>) => {
    await api.request('POST', '/apis/batch/v1/namespaces/default/cronjobs', {
      metadata: { name, namespace: 'default' },
      spec: { concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1, jobTemplate: { metadata: { labels: { app: name } }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } }, ...spec },
    });
    await settle();
  };
  const sync = async (name: string) => {
    const r = await c.reconcile(`default/${name}`);
    await settle();
    return r;
  };
  const jobs = () => api.items('jobs', 'default');
  const cj = (name: string) => api.get('cronjobs', 'default', name)!;
  const events = (reason: string) => api.items('events', 'default').filter((e) => e.reason === reason);
  const finish = async (job: KubeObject, type: 'Complete' | 'Failed', at: string) => {
    const j = api.get('jobs', 'default', job.metadata!.name!)!;
    j.status = { startTime: j.metadata!.creationTimestamp, conditions: [{ type, status: 'True', lastTransitionTime: at }], ...(type === 'Complete' ? { completionTime: at, succeeded: 1 } : { failed: 1 }) };
    api.put('jobs', j);
    await settle();
  };
  return { clock, api, c, create, sync, jobs, cj, events, finish };
}

describe('CronJob controller', () => {
  it('waits for the first schedule time, then creates exactly one job for it', async () => {
    const h = await setup('2024-01-01T10:02:00Z');
    await h.create('tick', { schedule: '*/5 * * * *' });
    const wait = await h.sync('tick');
    assert.equal(h.jobs().length, 0);
    assert.equal(wait, 3 * 60_000 + 100, 'requeues exactly at the next schedule time');

    h.clock.now = T('2024-01-01T10:05:10Z');
    const wait2 = await h.sync('tick');
    const [job] = h.jobs();
    assert.equal(job.metadata!.name, jobNameFor('tick', T('2024-01-01T10:05:00Z')));
    assert.equal(job.metadata!.name, `tick-${T('2024-01-01T10:05:00Z') / 60_000}`);
    assert.equal(job.metadata!.annotations![scheduledTimestampAnnotation], '2024-01-01T10:05:00Z');
    assert.equal(job.metadata!.labels!.app, 'tick');
    assert.deepEqual(job.metadata!.ownerReferences![0], { apiVersion: 'batch/v1', kind: 'CronJob', name: 'tick', uid: h.cj('tick').metadata!.uid, controller: true, blockOwnerDeletion: true });
    const st = h.cj('tick').status;
    assert.equal(st.lastScheduleTime, '2024-01-01T10:05:00Z');
    assert.deepEqual(st.active.map((r: KubeObject) => [r.kind, r.name, r.uid]), [['Job', job.metadata!.name, job.metadata!.uid]]);
    assert.equal(wait2, 4 * 60_000 + 50_000 + 100);
    assert.equal(h.events('SuccessfulCreate')[0].message, `Created job ${job.metadata!.name}`);

    // syncing again in the same minute creates nothing more
    await h.sync('tick');
    assert.equal(h.jobs().length, 1);

    // the job finishes: it leaves active, lastSuccessfulTime is set
    await h.finish(job, 'Complete', '2024-01-01T10:06:00Z');
    h.clock.now = T('2024-01-01T10:06:30Z');
    await h.sync('tick');
    assert.equal(h.cj('tick').status.active, undefined);
    assert.equal(h.cj('tick').status.lastSuccessfulTime, '2024-01-01T10:06:00Z');
    assert.match(h.events('SawCompletedJob')[0].message, /Saw completed job: tick-\d+, condition: Complete/);
  });

  it('concurrencyPolicy Forbid skips while a job runs; Replace replaces it', async () => {
    const h = await setup('2024-01-01T10:00:30Z');
    await h.create('forbid', { schedule: '* * * * *', concurrencyPolicy: 'Forbid' });
    await h.create('replace', { schedule: '* * * * *', concurrencyPolicy: 'Replace' });
    h.clock.now = T('2024-01-01T10:01:05Z');
    await h.sync('forbid');
    await h.sync('replace');
    assert.equal(h.jobs().length, 2);
    h.clock.now = T('2024-01-01T10:02:05Z');
    await h.sync('forbid');
    await h.sync('replace');
    const names = h.jobs().map((j) => j.metadata!.name).sort();
    const m1 = T('2024-01-01T10:01:00Z') / 60_000;
    const m2 = m1 + 1;
    assert.deepEqual(names, [`forbid-${m1}`, `replace-${m2}`]);
    assert.equal(h.events('JobAlreadyActive').length, 1);
    assert.deepEqual(h.cj('replace').status.active.map((r: KubeObject) => r.name), [`replace-${m2}`]);
  });

  it('startingDeadlineSeconds: a schedule missed by more than the deadline is skipped', async () => {
    const h = await setup('2024-01-01T10:00:00Z');
    await h.create('late', { schedule: '*/15 * * * *', startingDeadlineSeconds: 60 });
    h.clock.now = T('2024-01-01T10:17:30Z'); // 10:15 was 150s ago
    const wait = await h.sync('late');
    assert.equal(h.jobs().length, 0);
    assert.equal(wait, 12 * 60_000 + 30_000 + 100);
    h.clock.now = T('2024-01-01T10:30:40Z'); // within the deadline
    await h.sync('late');
    assert.equal(h.jobs().length, 1);
  });

  it('warns about too many missed start times but still runs the latest', async () => {
    const h = await setup('2024-01-01T00:00:00Z');
    await h.create('often', { schedule: '* * * * *' });
    h.clock.now = T('2024-01-03T00:00:20Z');
    await h.sync('often');
    assert.equal(h.jobs()[0].metadata!.name, `often-${T('2024-01-03T00:00:00Z') / 60_000}`);
    assert.match(h.events('TooManyMissedTimes')[0].message, /too many missed start times: 101\. Set or decrease \.spec\.startingDeadlineSeconds or check clock skew/);
  });

  it('keeps the history limits', async () => {
    const h = await setup('2024-01-01T00:00:30Z');
    await h.create('hist', { schedule: '* * * * *', successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 });
    for (let i = 1; i <= 6; i++) {
      h.clock.now = T('2024-01-01T00:00:05Z') + i * 60_000;
      await h.sync('hist');
      const j = h.jobs().find((x) => x.metadata!.name === `hist-${T('2024-01-01T00:00:00Z') / 60_000 + i}`)!;
      await h.finish(j, i % 2 ? 'Complete' : 'Failed', new Date(h.clock.now + 1000).toISOString());
    }
    h.clock.now += 10_000;
    await h.sync('hist');
    const left = h.jobs().map((j) => `${j.metadata!.name!.split('-')[1]}:${j.status.conditions[0].type}`).sort();
    const base = T('2024-01-01T00:00:00Z') / 60_000;
    assert.deepEqual(left, [`${base + 3}:Complete`, `${base + 5}:Complete`, `${base + 6}:Failed`]);
    assert.ok(h.events('SuccessfulDelete').length >= 3);
  });

  it('time zones: schedule evaluated in spec.timeZone, annotation in that zone', async () => {
    const h = await setup('2024-01-01T00:00:00Z');
    await h.create('tokyo', { schedule: '0 9 * * *', timeZone: 'Asia/Tokyo' });
    const wait = await h.sync('tokyo');
    // 09:00 JST on Jan 1 was 00:00 UTC, which is "now": the next one is a day away
    assert.equal(wait, 24 * 3600_000 + 100);
    h.clock.now = T('2024-01-02T00:00:01Z');
    await h.sync('tokyo');
    assert.equal(h.jobs()[0].metadata!.annotations![scheduledTimestampAnnotation], '2024-01-02T09:00:00+09:00');
  });

  it('suspend stops new jobs; manual jobs are not adopted into active', async () => {
    const h = await setup('2024-01-01T00:00:30Z');
    await h.create('paused', { schedule: '* * * * *', suspend: true });
    h.clock.now = T('2024-01-01T00:05:00Z');
    assert.equal(await h.sync('paused'), undefined);
    assert.equal(h.jobs().length, 0);
    const uid = h.cj('paused').metadata!.uid;
    await h.api.request('POST', '/apis/batch/v1/namespaces/default/jobs', {
      metadata: { name: 'manual', annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' }, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'paused', uid, controller: true }] },
      spec: {},
    });
    await settle();
    await h.sync('paused');
    assert.equal(h.cj('paused').status?.active, undefined);
  });

  it('rejects an unparsable schedule with an event instead of crashing', async () => {
    const h = await setup('2024-01-01T00:00:30Z');
    await h.create('broken', { schedule: '61 * * * *' });
    assert.equal(await h.sync('broken'), undefined);
    assert.match(h.events('InvalidSchedule')[0].message, /invalid schedule: 61 \* \* \* \* : end of range \(61\) above maximum \(59\)/);
  });
});
