import type { Knex } from 'knex';

/**
 * A cheap fingerprint of every table in the public schema: its row count and the newest row
 * version's transaction id (`xmin`). An insert changes the count or the newest xmin, an update
 * writes a new row version with a newer xmin, a delete changes the count; so two fingerprints are
 * equal when nothing was written, whatever the table: tables added by later migrations are included
 * without edits. Used to prove that a rejected request wrote nothing.
 */
export type Fingerprint = Record<string, string>;

export async function publicTables(db: Knex): Promise<string[]> {
  const rows = await db('information_schema.tables')
    .where({ table_schema: 'public', table_type: 'BASE TABLE' })
    .orderBy('table_name')
    .pluck<string[]>('table_name');
  return rows;
}

export async function fingerprint(db: Knex, options: { except?: string[]; only?: string[] } = {}): Promise<Fingerprint> {
  const tables = (await publicTables(db)).filter((t) => !(options.except ?? []).includes(t) && (!options.only || options.only.includes(t)));
  const parts = tables.map((t) => `SELECT '${t}' AS t, count(*)::text || ':' || coalesce(max(xmin::text::bigint), 0)::text AS f FROM "${t}"`);
  const { rows } = await db.raw<{ rows: { t: string; f: string }[] }>(parts.join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.t, r.f]));
}

/** The tables whose fingerprint differs, with both values. */
export function fingerprintDiff(before: Fingerprint, after: Fingerprint): Record<string, [string | undefined, string | undefined]> {
  const diff: Record<string, [string | undefined, string | undefined]> = {};
  for (const t of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[t] !== after[t]) diff[t] = [before[t], after[t]];
  }
  return diff;
}

/** Row counts of the named tables (for attack tests: "nothing was written to bank_events, payments, ..."). */
export async function rowCounts(db: Knex, tables: string[]): Promise<Record<string, number>> {
  const { rows } = await db.raw<{ rows: { t: string; n: string }[] }>(tables.map((t) => `SELECT '${t}' AS t, count(*) AS n FROM "${t}"`).join(' UNION ALL '));
  return Object.fromEntries(rows.map((r) => [r.t, Number(r.n)]));
}
