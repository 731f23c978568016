import { randomBytes } from 'node:crypto';

/** Opaque ids: a short type prefix and 128 random bits (e.g. sch_5f0c...). Same shape as new_id() in SQL. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}
