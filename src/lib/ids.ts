import { randomBytes } from 'node:crypto';

/** Opaque ids: a short type prefix and 128 random bits (e.g. sch_5f0c...). Same shape as new_id() in SQL. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

/** Whether `value` has the shape newId(prefix) gives; anything else names nothing and need not be looked up. */
export function isId(prefix: string, value: string): boolean {
  return value.length === prefix.length + 33 && value.startsWith(`${prefix}_`) && /^[0-9a-f]{32}$/.test(value.slice(prefix.length + 1));
}
