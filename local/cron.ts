/**
 * SCF timer schedules: seven-field cron expressions, `sec min hour day-of-month month day-of-week year`
 * (e.g. `0 0/5 * * * * *` = every five minutes). Supports `*`, `?`, numbers, lists, ranges and steps;
 * day-of-week 0-6 with 0 = Sunday (7 also means Sunday). Times are UTC.
 */
const FIELDS: Array<{ name: string; min: number; max: number }> = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'weekday', min: 0, max: 7 },
  { name: 'year', min: 1970, max: 2199 },
];

export interface CronSchedule {
  matches(date: Date): boolean;
  /** The first matching second strictly after `after`, or undefined within ~5 years. */
  next(after: Date): Date | undefined;
}

function parseField(text: string, field: (typeof FIELDS)[number]): Set<number> | 'any' {
  if (text === '*' || text === '?') return 'any';
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [rangeText, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let low: number;
    let high: number;
    if (rangeText === '*') {
      low = field.min;
      high = field.max;
    } else if (rangeText!.includes('-')) {
      [low, high] = rangeText!.split('-').map(Number) as [number, number];
    } else {
      low = Number(rangeText);
      high = stepText === undefined ? low : field.max;
    }
    if (![low, high, step].every(Number.isInteger) || step < 1 || low < field.min || high > field.max || low > high) {
      throw new Error(`cron: bad ${field.name} field "${text}"`);
    }
    for (let v = low; v <= high; v += step) values.add(field.name === 'weekday' && v === 7 ? 0 : v);
  }
  return values;
}

export function parseCron(expression: string): CronSchedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 7) throw new Error(`cron: "${expression}" must have 7 fields (sec min hour day month week year)`);
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!));
  const has = (i: number, value: number) => sets[i] === 'any' || (sets[i] as Set<number>).has(value);
  const matches = (d: Date) =>
    has(0, d.getUTCSeconds()) &&
    has(1, d.getUTCMinutes()) &&
    has(2, d.getUTCHours()) &&
    has(3, d.getUTCDate()) &&
    has(4, d.getUTCMonth() + 1) &&
    has(5, d.getUTCDay()) &&
    has(6, d.getUTCFullYear());
  return {
    matches,
    next(after) {
      const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      const limit = after.getTime() + 5 * 366 * 86_400_000;
      while (t.getTime() < limit) {
        // Skip whole minutes, hours and days that cannot match, so a yearly schedule costs little.
        if (!has(3, t.getUTCDate()) || !has(4, t.getUTCMonth() + 1) || !has(5, t.getUTCDay()) || !has(6, t.getUTCFullYear())) {
          t.setUTCHours(24, 0, 0, 0);
        } else if (!has(2, t.getUTCHours())) {
          t.setUTCMinutes(60, 0, 0);
        } else if (!has(1, t.getUTCMinutes())) {
          t.setUTCSeconds(60, 0);
        } else if (!has(0, t.getUTCSeconds())) {
          t.setTime(t.getTime() + 1000);
        } else {
          return t;
        }
      }
      return undefined;
    },
  };
}
