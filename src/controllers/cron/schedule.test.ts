import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CronParseError, formatRFC3339, mostRecentScheduleTime, parseSchedule } from './schedule.js';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const at = (s: string) => Date.parse(s);

function nextN(spec: string, from: string, n: number, tz = 'UTC'): string[] {
  const s = parseSchedule(spec, tz);
  const out: string[] = [];
  let t = at(from);
  for (let i = 0; i < n; i++) {
    const nx = s.next(t);
    if (nx === undefined) break;
    out.push(iso(nx)!);
    t = nx;
  }
  return out;
}

describe('cron parsing', () => {
  it('every minute', () => {
    assert.deepEqual(nextN('* * * * *', '2024-01-01T10:00:30Z', 3), ['2024-01-01T10:01:00.000Z', '2024-01-01T10:02:00.000Z', '2024-01-01T10:03:00.000Z']);
  });

  it('steps, ranges and lists', () => {
    assert.deepEqual(nextN('*/15 9-10 * * *', '2024-01-01T10:20:00Z', 3), ['2024-01-01T10:30:00.000Z', '2024-01-01T10:45:00.000Z', '2024-01-02T09:00:00.000Z']);
    assert.deepEqual(nextN('5,10 0 * * *', '2024-01-01T00:05:00Z', 2), ['2024-01-01T00:10:00.000Z', '2024-01-02T00:05:00.000Z']);
    assert.deepEqual(nextN('10/20 * * * *', '2024-01-01T00:00:00Z', 3), ['2024-01-01T00:10:00.000Z', '2024-01-01T00:30:00.000Z', '2024-01-01T00:50:00.000Z']);
    assert.deepEqual(nextN('0 0 1-10/3 * *', '2024-01-01T00:00:00Z', 3), ['2024-01-04T00:00:00.000Z', '2024-01-07T00:00:00.000Z', '2024-01-10T00:00:00.000Z']);
  });

  it('names for months and weekdays, 7 is Sunday', () => {
    // 2024-01-01 is a Monday
    assert.deepEqual(nextN('0 12 * * MON-FRI', '2024-01-05T13:00:00Z', 1), ['2024-01-08T12:00:00.000Z']);
    assert.deepEqual(nextN('0 0 1 jan,Jul *', '2024-02-01T00:00:00Z', 2), ['2024-07-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z']);
    assert.deepEqual(nextN('0 0 * * 7', '2024-01-01T00:00:00Z', 1), ['2024-01-07T00:00:00.000Z']);
    assert.deepEqual(nextN('0 0 * * sun', '2024-01-01T00:00:00Z', 1), ['2024-01-07T00:00:00.000Z']);
  });

  it('day-of-month and day-of-week: either matches when both are restricted', () => {
    // the 13th or any Friday
    assert.deepEqual(nextN('0 0 13 * 5', '2024-01-01T00:00:00Z', 3), ['2024-01-05T00:00:00.000Z', '2024-01-12T00:00:00.000Z', '2024-01-13T00:00:00.000Z']);
    // a star in one of them: both must match
    assert.deepEqual(nextN('0 0 * * 5', '2024-01-05T00:00:00Z', 1), ['2024-01-12T00:00:00.000Z']);
  });

  it('macros', () => {
    const from = '2024-05-15T10:30:00Z';
    assert.deepEqual(nextN('@hourly', from, 1), ['2024-05-15T11:00:00.000Z']);
    assert.deepEqual(nextN('@daily', from, 1), ['2024-05-16T00:00:00.000Z']);
    assert.deepEqual(nextN('@midnight', from, 1), ['2024-05-16T00:00:00.000Z']);
    assert.deepEqual(nextN('@weekly', from, 1), ['2024-05-19T00:00:00.000Z']);
    assert.deepEqual(nextN('@monthly', from, 1), ['2024-06-01T00:00:00.000Z']);
    assert.deepEqual(nextN('@yearly', from, 1), ['2025-01-01T00:00:00.000Z']);
    assert.deepEqual(nextN('@annually', from, 1), ['2025-01-01T00:00:00.000Z']);
    assert.deepEqual(nextN('@every 90s', from, 2), ['2024-05-15T10:31:30.000Z', '2024-05-15T10:33:00.000Z']);
  });

  it('leap days and impossible dates', () => {
    assert.deepEqual(nextN('0 0 29 2 *', '2024-03-01T00:00:00Z', 1), ['2028-02-29T00:00:00.000Z']);
    assert.equal(parseSchedule('0 0 30 2 *', 'UTC').next(at('2024-01-01T00:00:00Z')), undefined);
  });

  it('rejects malformed schedules', () => {
    for (const bad of ['* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8', '*/0 * * * *', '5-1 * * * *', '@fortnightly', 'x * * * *']) {
      assert.throws(() => parseSchedule(bad, 'UTC'), CronParseError, bad);
    }
    assert.throws(() => parseSchedule('* * * * *', 'Mars/Olympus'), CronParseError);
  });

  it('prev finds the latest time at or before', () => {
    const s = parseSchedule('30 2 * * 1', 'UTC');
    assert.equal(iso(s.prev(at('2024-01-10T00:00:00Z'))), '2024-01-08T02:30:00.000Z');
    assert.equal(iso(s.prev(at('2024-01-08T02:30:00Z'))), '2024-01-08T02:30:00.000Z');
    assert.equal(iso(parseSchedule('0 0 1 1 *', 'UTC').prev(at('2024-06-01T00:00:00Z'))), '2024-01-01T00:00:00.000Z');
  });
});

describe('time zones', () => {
  it('evaluates the schedule in the given zone', () => {
    // 09:00 in Tokyo (UTC+9) is 00:00 UTC
    assert.deepEqual(nextN('0 9 * * *', '2024-01-01T01:00:00Z', 1, 'Asia/Tokyo'), ['2024-01-02T00:00:00.000Z']);
    // India is UTC+5:30
    assert.deepEqual(nextN('0 0 * * *', '2024-01-01T00:00:00Z', 1, 'Asia/Kolkata'), ['2024-01-01T18:30:00.000Z']);
  });

  it('legacy CRON_TZ prefix', () => {
    const s = parseSchedule('CRON_TZ=Europe/Paris 0 12 * * *');
    assert.equal(s.timeZone, 'Europe/Paris');
    assert.equal(iso(s.next(at('2024-07-01T00:00:00Z'))), '2024-07-01T10:00:00.000Z');
  });

  it('skips a time that DST removes (spring forward)', () => {
    // New York: 2024-03-10 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that day
    assert.deepEqual(nextN('30 2 * * *', '2024-03-09T12:00:00Z', 2, 'America/New_York'), ['2024-03-11T06:30:00.000Z', '2024-03-12T06:30:00.000Z']);
    // before the change 02:30 EST is 07:30 UTC
    assert.deepEqual(nextN('30 2 * * *', '2024-03-08T12:00:00Z', 1, 'America/New_York'), ['2024-03-09T07:30:00.000Z']);
  });

  it('fires twice in the hour DST repeats (fall back)', () => {
    // New York: 2024-11-03 02:00 EDT goes back to 01:00 EST; 01:30 happens twice
    assert.deepEqual(nextN('30 1 * * *', '2024-11-03T00:00:00Z', 3, 'America/New_York'), ['2024-11-03T05:30:00.000Z', '2024-11-03T06:30:00.000Z', '2024-11-04T06:30:00.000Z']);
  });

  it('daily midnight keeps local midnight across DST', () => {
    assert.deepEqual(nextN('0 0 * * *', '2024-03-30T12:00:00Z', 3, 'Europe/Berlin'), ['2024-03-30T23:00:00.000Z', '2024-03-31T22:00:00.000Z', '2024-04-01T22:00:00.000Z']);
  });

  it('formats RFC 3339 with the zone offset', () => {
    assert.equal(formatRFC3339(at('2024-07-01T10:00:00Z'), 'Europe/Paris'), '2024-07-01T12:00:00+02:00');
    assert.equal(formatRFC3339(at('2024-07-01T10:00:00Z'), 'UTC'), '2024-07-01T10:00:00Z');
    assert.equal(formatRFC3339(at('2024-01-01T00:00:00Z'), 'America/St_Johns'), '2023-12-31T20:30:00-03:30');
  });
});

describe('mostRecentScheduleTime', () => {
  const s = parseSchedule('*/10 * * * *', 'UTC');
  it('none due yet', () => {
    assert.deepEqual(mostRecentScheduleTime(s, at('2024-01-01T00:00:00Z'), at('2024-01-01T00:05:00Z')), { missed: 0 });
  });
  it('latest of several missed, with the count', () => {
    const r = mostRecentScheduleTime(s, at('2024-01-01T00:00:00Z'), at('2024-01-01T00:35:00Z'));
    assert.equal(iso(r.time), '2024-01-01T00:30:00.000Z');
    assert.equal(r.missed, 3);
  });
  it('counts no further than the limit, still finds the latest quickly', () => {
    const every = parseSchedule('* * * * *', 'UTC');
    const t0 = Date.now();
    const r = mostRecentScheduleTime(every, at('2020-01-01T00:00:00Z'), at('2024-01-01T00:00:30Z'));
    assert.equal(iso(r.time), '2024-01-01T00:00:00.000Z');
    assert.equal(r.missed, 101);
    assert.ok(Date.now() - t0 < 1000);
  });
  it('@every', () => {
    const e = parseSchedule('@every 1h', 'UTC');
    const r = mostRecentScheduleTime(e, at('2024-01-01T00:00:00Z'), at('2024-01-01T05:30:00Z'));
    assert.equal(iso(r.time), '2024-01-01T05:00:00.000Z');
    assert.equal(r.missed, 5);
  });
});
