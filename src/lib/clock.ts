/**
 * One injectable source of "now", so tests can move time. Business dates are Vietnam local dates
 * (Asia/Ho_Chi_Minh, UTC+7 with no daylight saving).
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stays where a test puts it. */
export function fixedClock(at: Date): Clock & { set(at: Date): void; advanceMs(ms: number): void } {
  let current = new Date(at);
  return {
    now: () => new Date(current),
    set: (next) => {
      current = new Date(next);
    },
    advanceMs: (ms) => {
      current = new Date(current.getTime() + ms);
    },
  };
}

const VIETNAM_OFFSET_MS = 7 * 60 * 60 * 1000;

/** The Vietnam local calendar date (YYYY-MM-DD) of an instant. */
export function vietnamDate(instant: Date): string {
  return new Date(instant.getTime() + VIETNAM_OFFSET_MS).toISOString().slice(0, 10);
}

export function vietnamYear(instant: Date): number {
  return Number(vietnamDate(instant).slice(0, 4));
}

/** True when YYYY-MM-DD names a real calendar day from 1900 on (older dates are typos here). */
export function isCalendarDate(value: string): boolean {
  if (!/^(19|2\d)\d{2}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** First and last calendar day of a month given as YYYY-MM. */
export function monthBounds(month: string): { start: string; end: string } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return { start: `${month}-01`, end: new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10) };
}
