// Cron schedules as the CronJob controller reads them: 5 fields (minute hour
// day-of-month month day-of-week) with lists, ranges, steps and names (JAN,
// MON), the macros @yearly @annually @monthly @weekly @daily @midnight @hourly,
// `@every <duration>`, and an optional legacy `TZ=`/`CRON_TZ=` prefix.
//
// Times are evaluated in an IANA time zone through Intl. We walk real instants
// and test their wall-clock fields in the zone, so a time that does not exist
// (the hour skipped when DST starts) never fires and a time that happens twice
// (the hour repeated when DST ends) fires twice, as upstream's robfig/cron does.

const MINUTE = 60_000;

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export interface WallTime {
  year: number;
  month: number; // 1-12
  day: number; // 1-31
  hour: number;
  minute: number;
  weekday: number; // 0 = Sunday
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The wall-clock fields of an instant in a time zone. */
export function wallTime(ms: number, tz: string): WallTime {
  const w: WallTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, weekday: 0 };
  for (const p of formatter(tz).formatToParts(ms)) {
    switch (p.type) {
      case 'year': w.year = Number(p.value); break;
      case 'month': w.month = Number(p.value); break;
      case 'day': w.day = Number(p.value); break;
      case 'hour': w.hour = Number(p.value) % 24; break;
      case 'minute': w.minute = Number(p.value); break;
      case 'weekday': w.weekday = WEEKDAYS[p.value] ?? 0; break;
    }
  }
  return w;
}

/** Offset of the zone from UTC at an instant, in ms (east positive). */
export function zoneOffset(ms: number, tz: string): number {
  const w = wallTime(ms, tz);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
  return asUtc - Math.floor(ms / MINUTE) * MINUTE;
}

/** An instant showing the given wall time in the zone (the earlier one when ambiguous; in a gap, the first instant after it). */
export function fromWallTime(year: number, month: number, day: number, hour: number, minute: number, tz: string): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  const o1 = zoneOffset(guess - 12 * 3600_000, tz);
  const o2 = zoneOffset(guess + 12 * 3600_000, tz);
  const a = guess - o1;
  const b = guess - o2;
  // try the offset before the transition first (earlier instant when the wall time repeats)
  for (const t of [Math.min(a, b), Math.max(a, b)]) {
    const w = wallTime(t, tz);
    if (w.year === year && w.month === month && w.day === day && w.hour === hour && w.minute === minute) return t;
  }
  return Math.max(a, b);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** The time zone of this process (upstream uses the controller manager's local zone). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export class CronParseError extends Error {}

function parseValue(s: string, f: FieldSpec): number {
  const idx = f.names?.indexOf(s.toLowerCase()) ?? -1;
  if (idx >= 0) return idx + f.min;
  if (!/^\d+$/.test(s)) throw new CronParseError(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  return Number(s);
}

interface ParsedField {
  bits: boolean[];
  /** the field was `*` or `?` (step 1): matters for day-of-month/day-of-week */
  star: boolean;
}

function parseField(expr: string, f: FieldSpec, dow: boolean): ParsedField {
  const max = dow ? 7 : f.max; // 7 is Sunday as well
  const bits = new Array<boolean>(max + 1).fill(false);
  let star = false;
  for (const part of expr.split(',')) {
    const [range, stepStr, extra] = part.split('/');
    if (extra !== undefined) throw new CronParseError(`too many slashes: ${part}`);
    let lo: number;
    let hi: number;
    let isStar = false;
    if (range === '*' || range === '?') {
      lo = f.min;
      hi = f.max;
      isStar = true;
    } else {
      const ends = range.split('-');
      if (ends.length > 2) throw new CronParseError(`too many hyphens: ${range}`);
      lo = parseValue(ends[0], f);
      hi = ends.length === 2 ? parseValue(ends[1], f) : lo;
      if (ends.length === 1 && stepStr !== undefined) hi = f.max; // "N/step" means "N-max/step"
    }
    let step = 1;
    if (stepStr !== undefined) {
      if (!/^\d+$/.test(stepStr)) throw new CronParseError(`failed to parse int from ${stepStr}: strconv.Atoi: parsing "${stepStr}": invalid syntax`);
      step = Number(stepStr);
      if (step === 0) throw new CronParseError(`step of range should be a positive number: ${part}`);
    }
    if (lo < f.min) throw new CronParseError(`beginning of range (${lo}) below minimum (${f.min}): ${part}`);
    if (hi > max) throw new CronParseError(`end of range (${hi}) above maximum (${max}): ${part}`);
    if (lo > hi) throw new CronParseError(`beginning of range (${lo}) beyond end of range (${hi}): ${part}`);
    for (let v = lo; v <= hi; v += step) bits[v] = true;
    if (isStar && step === 1) star = true;
  }
  if (dow && bits[7]) bits[0] = true;
  return { bits, star };
}

function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: MINUTE, h: 3600_000 };
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) throw new CronParseError(`failed to parse duration @every ${s}: time: invalid duration "${s}"`);
  let total = 0;
  for (const m of s.matchAll(re)) total += Number(m[1]) * units[m[2]];
  return total;
}

export class Schedule {
  readonly timeZone: string;
  private readonly fields?: ParsedField[];
  /** `@every d`: a constant delay (ms, at least one second) */
  readonly every?: number;

  constructor(readonly spec: string, timeZone?: string) {
    let s = spec.trim();
    let tz = timeZone;
    const prefix = /^(?:CRON_)?TZ=(\S+)\s+/.exec(s);
    if (prefix) {
      tz ??= prefix[1];
      s = s.slice(prefix[0].length).trim();
    }
    tz ||= localTimeZone();
    if (!isValidTimeZone(tz)) throw new CronParseError(`provided bad location ${tz}: unknown time zone ${tz}`);
    this.timeZone = tz;
    if (s.startsWith('@every')) {
      const d = parseDuration(s.slice('@every'.length).trim());
      this.every = Math.max(1000, Math.floor(d / 1000) * 1000); // robfig rounds to whole seconds, at least one
      return;
    }
    if (s.startsWith('@')) {
      const m = MACROS[s.toLowerCase()];
      if (!m) throw new CronParseError(`unrecognized descriptor: ${s}`);
      s = m;
    }
    const parts = s.split(/\s+/).filter(Boolean);
    if (parts.length !== 5) throw new CronParseError(`expected exactly 5 fields, found ${parts.length}: [${parts.join(' ')}]`);
    this.fields = parts.map((p, i) => parseField(p, FIELDS[i], i === 4));
  }

  private dayMatches(w: WallTime): boolean {
    const [, , dom, , dow] = this.fields!;
    const d = dom.bits[w.day];
    const wd = dow.bits[w.weekday];
    // either field a star: both must match; otherwise either may match (classic cron)
    return dom.star || dow.star ? d && wd : d || wd;
  }

  /** Whether an instant (truncated to the minute) is a schedule time. */
  matches(ms: number): boolean {
    if (this.every) return false;
    const w = wallTime(ms, this.timeZone);
    const [min, hour, , month] = this.fields!;
    return min.bits[w.minute] && hour.bits[w.hour] && month.bits[w.month] && this.dayMatches(w);
  }

  /** The first schedule time strictly after `after` (ms), or undefined if none within five years. */
  next(after: number): number | undefined {
    if (this.every) return Math.floor((after + this.every) / 1000) * 1000;
    const [min, hour, , month] = this.fields!;
    const tz = this.timeZone;
    let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
    const limit = after + 5 * 366 * 24 * 3600_000;
    for (let i = 0; i < 200_000 && t <= limit; i++) {
      const w = wallTime(t, tz);
      if (!month.bits[w.month]) {
        const y = w.month === 12 ? w.year + 1 : w.year;
        const m = w.month === 12 ? 1 : w.month + 1;
        t = Math.max(t + MINUTE, fromWallTime(y, m, 1, 0, 0, tz));
        continue;
      }
      if (!this.dayMatches(w)) {
        const nd = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
        t = Math.max(t + MINUTE, fromWallTime(nd.getUTCFullYear(), nd.getUTCMonth() + 1, nd.getUTCDate(), 0, 0, tz));
        continue;
      }
      if (!hour.bits[w.hour]) {
        t += (60 - w.minute) * MINUTE;
        continue;
      }
      if (!min.bits[w.minute]) {
        let m = w.minute + 1;
        while (m < 60 && !min.bits[m]) m++;
        t += (m - w.minute) * MINUTE; // m === 60 moves on to the next hour
        continue;
      }
      return t;
    }
    return undefined;
  }

  /** The latest schedule time at or before `atOrBefore` (ms), or undefined if none within five years. */
  prev(atOrBefore: number): number | undefined {
    if (this.every) return undefined;
    const [min, hour, , month] = this.fields!;
    const tz = this.timeZone;
    let t = Math.floor(atOrBefore / MINUTE) * MINUTE;
    const limit = atOrBefore - 5 * 366 * 24 * 3600_000;
    for (let i = 0; i < 200_000 && t >= limit; i++) {
      const w = wallTime(t, tz);
      if (!month.bits[w.month]) {
        // to the last minute of the previous month
        t = Math.min(t - MINUTE, fromWallTime(w.year, w.month, 1, 0, 0, tz) - MINUTE);
        continue;
      }
      if (!this.dayMatches(w)) {
        t = Math.min(t - MINUTE, fromWallTime(w.year, w.month, w.day, 0, 0, tz) - MINUTE);
        continue;
      }
      if (!hour.bits[w.hour]) {
        t -= (w.minute + 1) * MINUTE;
        continue;
      }
      if (!min.bits[w.minute]) {
        let m = w.minute - 1;
        while (m >= 0 && !min.bits[m]) m--;
        t -= (w.minute - m) * MINUTE; // m === -1 moves to the previous hour's last minute
        continue;
      }
      return t;
    }
    return undefined;
  }
}

export function parseSchedule(spec: string, timeZone?: string): Schedule {
  return new Schedule(spec, timeZone);
}

/**
 * The most recent schedule time in (earliest, now], and how many schedule
 * times fell in that window (counted up to `countLimit`+1, enough to tell
 * "too many missed start times").
 */
export function mostRecentScheduleTime(s: Schedule, earliest: number, now: number, countLimit = 100): { time?: number; missed: number } {
  if (now <= earliest) return { missed: 0 };
  if (s.every) {
    const first = s.next(earliest)!;
    if (first > now) return { missed: 0 };
    const n = Math.floor((now - first) / s.every) + 1;
    return { time: first + (n - 1) * s.every, missed: n };
  }
  const first = s.next(earliest);
  if (first === undefined || first > now) return { missed: 0 };
  const latest = s.prev(now) ?? first;
  let missed = 1;
  for (let t = first; missed <= countLimit; missed++) {
    const n = s.next(t);
    if (n === undefined || n > latest) break;
    t = n;
  }
  return { time: latest, missed };
}

/** RFC 3339 in the zone, like Go's time.Format(time.RFC3339): "2024-03-10T03:30:00-04:00" or "...Z" for UTC. */
export function formatRFC3339(ms: number, tz: string): string {
  const off = zoneOffset(ms, tz);
  const local = new Date(Math.floor(ms / 1000) * 1000 + off).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const sign = off > 0 ? '+' : '-';
  const a = Math.abs(off) / MINUTE;
  return `${local}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}
