import { parseCron } from '../../local/cron';

describe('SCF cron (7 fields)', () => {
  test('next fire times', () => {
    const every5min = parseCron('0 */5 * * * * *');
    expect(every5min.next(new Date('2026-11-25T10:02:30Z'))!.toISOString()).toBe('2026-11-25T10:05:00.000Z');
    expect(every5min.next(new Date('2026-11-25T10:05:00Z'))!.toISOString()).toBe('2026-11-25T10:10:00.000Z');
    const nightly = parseCron('0 30 2 * * * *');
    expect(nightly.next(new Date('2026-11-25T10:00:00Z'))!.toISOString()).toBe('2026-11-26T02:30:00.000Z');
    const mondays = parseCron('15 0 8 * * 1 *');
    expect(mondays.next(new Date('2026-11-25T10:00:00Z'))!.toISOString()).toBe('2026-11-30T08:00:15.000Z');
    const list = parseCron('0 0 9-17/4 1,15 * ? 2027');
    expect(list.next(new Date('2026-11-25T10:00:00Z'))!.toISOString()).toBe('2027-01-01T09:00:00.000Z');
    expect(parseCron('*/10 * * * * * *').matches(new Date('2026-11-25T10:00:20Z'))).toBe(true);
  });

  test('malformed expressions are refused with the field named', () => {
    expect(() => parseCron('*/5 * * * *')).toThrow(/7 fields/);
    expect(() => parseCron('0 61 * * * * *')).toThrow(/minute/);
    expect(() => parseCron('0 0 0 0 * * *')).toThrow(/day/);
    expect(() => parseCron('0 */0 * * * * *')).toThrow(/minute/);
  });
});
