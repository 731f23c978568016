import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock';

/**
 * The roll-up tables recomputed from the raw history, set-based, by the same rules as the
 * triggers of migration 20261201030000 (an event's month is its business month, or the month
 * report_period_moves recorded for it when it arrived after its month was closed). Used by the
 * nightly check (`verifyRollups`, any difference is a bug) and to build roll-ups for data loaded
 * in bulk with triggers off (`rebuildRollups`, the benchmark).
 *
 * Each query yields the rows of one roll-up table for the schools `:schools` (all when NULL), one
 * per key. The tables themselves hold deltas (several rows per key until compacted).
 */
const IN_SCOPE = (alias: string) => `(CAST(:schools AS text[]) IS NULL OR ${alias}.school_id = ANY(CAST(:schools AS text[])))`;

/** The move recorded for a late event, joined to the event's row (`mv.month` when it was moved). */
const moveOf = (kind: string, alias: string, idColumn: string, mv: string) =>
  `LEFT JOIN report_period_moves ${mv} ON ${mv}.school_id = ${alias}.school_id AND ${mv}.source_kind = '${kind}' AND ${mv}.source_id = ${alias}.${idColumn}`;

const INVOICE_EVENTS = `
  SELECT i.school_id, i.id, 1 AS sign, coalesce(mv.month, report_month_of(i.issued_at)) AS month, i.total_vnd
    FROM invoices i ${moveOf('invoice_issued', 'i', 'id', 'mv')} WHERE i.issued_at IS NOT NULL AND ${IN_SCOPE('i')}
  UNION ALL
  SELECT i.school_id, i.id, -1, coalesce(mv.month, report_month_of(i.voided_at)), i.total_vnd
    FROM invoices i ${moveOf('invoice_voided', 'i', 'id', 'mv')} WHERE i.status = 'void' AND i.issued_at IS NOT NULL AND ${IN_SCOPE('i')}`;

const CREDIT_NOTE_EVENTS = `
  SELECT cl.school_id, cl.fee_item_id, cl.amount_vnd, coalesce(mv.month, report_month_of(c.created_at)) AS month
    FROM credit_note_lines cl JOIN credit_notes c ON c.school_id = cl.school_id AND c.id = cl.credit_note_id
    ${moveOf('credit_note', 'c', 'id', 'mv')} WHERE ${IN_SCOPE('cl')}`;

const ALLOCATION_EVENTS = `
  SELECT a.school_id, a.invoice_id, a.amount_vnd,
         CASE WHEN a.source = 'credit' THEN 'credit' ELSE report_channel(p.provider) END AS channel,
         coalesce(mv.month, report_month_of(CASE WHEN a.source = 'payment' THEN coalesce(p.occurred_at, p.recorded_at) ELSE a.created_at END)) AS month
    FROM allocations a LEFT JOIN payments p ON p.school_id = a.school_id AND p.id = a.payment_id
    ${moveOf('allocation', 'a', 'id', 'mv')} WHERE ${IN_SCOPE('a')}`;

export const EXPECTED_ROLLUPS = {
  report_fee_item_months: {
    key: ['school_id', 'month', 'fee_item_id'],
    values: ['billed_vnd', 'exempted_vnd', 'discounted_vnd', 'credit_notes_vnd'],
    sql: `
      SELECT school_id, month, fee_item_id, sum(billed)::bigint AS billed_vnd, sum(exempted)::bigint AS exempted_vnd, sum(discounted)::bigint AS discounted_vnd, sum(credit_notes)::bigint AS credit_notes_vnd
        FROM (
          SELECT e.school_id, e.month, l.fee_item_id,
                 e.sign * CASE WHEN l.kind = 'fee' THEN coalesce(l.gross_vnd, 0) ELSE 0 END AS billed,
                 e.sign * CASE WHEN l.kind = 'fee' THEN coalesce(l.exemption_vnd, 0) ELSE 0 END AS exempted,
                 e.sign * CASE WHEN l.kind = 'discount' THEN -l.total_vnd ELSE 0 END AS discounted,
                 0 AS credit_notes
            FROM (${INVOICE_EVENTS}) e JOIN invoice_lines l ON l.school_id = e.school_id AND l.invoice_id = e.id
          UNION ALL
          SELECT school_id, month, fee_item_id, 0, 0, 0, amount_vnd FROM (${CREDIT_NOTE_EVENTS}) c
        ) x GROUP BY school_id, month, fee_item_id`,
  },
  report_collection_months: {
    key: ['school_id', 'month', 'fee_item_id', 'channel'],
    values: ['amount_vnd'],
    sql: `
      WITH w AS (
        SELECT school_id, invoice_id, fee_item_id, weight,
               sum(weight) OVER (PARTITION BY school_id, invoice_id ORDER BY fee_item_id) AS cum,
               sum(weight) OVER (PARTITION BY school_id, invoice_id) AS total,
               row_number() OVER (PARTITION BY school_id, invoice_id ORDER BY fee_item_id) AS rn
          FROM (SELECT l.school_id, l.invoice_id, l.fee_item_id, sum(l.total_vnd) AS weight FROM invoice_lines l WHERE ${IN_SCOPE('l')} GROUP BY 1, 2, 3) g
      )
      SELECT e.school_id, e.month, w.fee_item_id, e.channel,
             sum(CASE WHEN w.total = 0 THEN CASE WHEN w.rn = 1 THEN e.amount_vnd ELSE 0 END
                      ELSE trunc(e.amount_vnd::numeric * w.cum / w.total) - trunc(e.amount_vnd::numeric * (w.cum - w.weight) / w.total) END)::bigint AS amount_vnd
        FROM (${ALLOCATION_EVENTS}) e JOIN w ON w.school_id = e.school_id AND w.invoice_id = e.invoice_id
       GROUP BY e.school_id, e.month, w.fee_item_id, e.channel`,
  },
  report_school_months: {
    key: ['school_id', 'month'],
    values: ['receivable_change_vnd', 'credit_change_vnd', 'refunded_vnd'],
    sql: `
      SELECT school_id, month, sum(receivable)::bigint AS receivable_change_vnd, sum(credit)::bigint AS credit_change_vnd, sum(refunded)::bigint AS refunded_vnd
        FROM (
          SELECT school_id, month, sign * total_vnd AS receivable, 0 AS credit, 0 AS refunded FROM (${INVOICE_EVENTS}) e
          UNION ALL SELECT school_id, month, -amount_vnd, 0, 0 FROM (${ALLOCATION_EVENTS}) a
          UNION ALL SELECT school_id, month, -amount_vnd, 0, 0 FROM (${CREDIT_NOTE_EVENTS}) c
          UNION ALL
          SELECT j.school_id, coalesce(mv.month, report_month_of(j.posted_at)), 0, -le.amount_vnd, CASE WHEN j.kind = 'credit_refunded' THEN le.amount_vnd ELSE 0 END
            FROM ledger_entries le JOIN journals j ON j.school_id = le.school_id AND j.id = le.journal_id
            ${moveOf('journal', 'j', 'id', 'mv')}
           WHERE le.account_kind = 'credit' AND ${IN_SCOPE('le')}
        ) x GROUP BY school_id, month`,
  },
  report_receipt_months: {
    key: ['school_id', 'month', 'template_code', 'symbol'],
    values: ['first_number', 'last_number', 'issued_count', 'cancelled_count', 'amount_vnd'],
    sql: `
      SELECT school_id, month, template_code, symbol, min(number) AS first_number, max(number) AS last_number,
             count(*) FILTER (WHERE kind = 'issued')::int AS issued_count, count(*) FILTER (WHERE kind = 'cancelled')::int AS cancelled_count, sum(amount)::bigint AS amount_vnd
        FROM (
          SELECT r.school_id, coalesce(mv.month, report_month_of(r.issued_at)) AS month, r.template_code, r.symbol, r.number, 'issued' AS kind, r.total_vnd AS amount
            FROM receipts r ${moveOf('receipt', 'r', 'id', 'mv')} WHERE ${IN_SCOPE('r')}
          UNION ALL
          SELECT r.school_id, coalesce(mv.month, report_month_of(c.cancelled_at)), r.template_code, r.symbol, NULL, 'cancelled', -r.total_vnd
            FROM receipt_cancellations c JOIN receipts r ON r.school_id = c.school_id AND r.id = c.receipt_id
            ${moveOf('receipt_cancellation', 'c', 'receipt_id', 'mv')} WHERE ${IN_SCOPE('c')}
        ) x GROUP BY school_id, month, template_code, symbol`,
  },
} as const;

type RollupTable = keyof typeof EXPECTED_ROLLUPS;
const TABLES = Object.keys(EXPECTED_ROLLUPS) as RollupTable[];

/** How a figure of several delta rows of one key adds up. */
const aggregateOf = (column: string) => (column === 'first_number' ? `min(${column})` : column === 'last_number' ? `max(${column})` : `sum(${column})`);

/** A roll-up table's rows summed per key (the tables hold deltas; see the migration). */
function summed(table: RollupTable, where: string): string {
  const { key, values } = EXPECTED_ROLLUPS[table];
  return `SELECT ${key.join(', ')}, ${values.map((v) => `${aggregateOf(v)}::bigint AS ${v}`).join(', ')} FROM ${table} t WHERE ${where} GROUP BY ${key.join(', ')}`;
}

/**
 * Compares every roll-up key with the raw history: the number of keys whose summed figures differ
 * per table (missing, extra or with other figures; a key summing to zeros counts as absent). 0
 * everywhere is the invariant the triggers keep.
 */
export async function verifyRollups(db: Knex, schoolIds: string[] | null = null): Promise<Record<RollupTable, number>> {
  const out = {} as Record<RollupTable, number>;
  for (const table of TABLES) {
    const { key, values, sql } = EXPECTED_ROLLUPS[table];
    const join = key.map((k) => `a.${k} = e.${k}`).join(' AND ');
    const differs = values.map((v) => `a.${v} IS DISTINCT FROM e.${v}`).join(' OR ');
    const nonZero = (alias: string) => values.filter((v) => !v.endsWith('_number')).map((v) => `coalesce(${alias}.${v}, 0) <> 0`).join(' OR ');
    const { rows } = await db.raw(
      `SELECT count(*) AS n FROM (${summed(table, IN_SCOPE('t'))}) a FULL JOIN (${sql}) e ON ${join}
        WHERE CASE WHEN a.school_id IS NULL THEN ${nonZero('e')} WHEN e.school_id IS NULL THEN ${nonZero('a')} ELSE ${differs} END`,
      { schools: schoolIds },
    );
    out[table] = Number(rows[0].n);
  }
  return out;
}

/**
 * Replaces the delta rows of each key that has several by one row of their sum, in open months
 * (a closed month's rows are frozen, and were compacted when it closed). The triggers only ever
 * insert, so this runs beside live money without waiting for it, and reads give the same figures
 * before and after. Returns the rows removed per table.
 */
export async function compactRollups(db: Knex | Knex.Transaction, schoolIds: string[] | null = null): Promise<Record<RollupTable, number>> {
  const out = {} as Record<RollupTable, number>;
  for (const table of TABLES) {
    const { key, values } = EXPECTED_ROLLUPS[table];
    const columns = [...key, ...values].join(', ');
    const open = `NOT EXISTS (SELECT 1 FROM closed_months c WHERE c.school_id = t.school_id AND c.month = t.month)`;
    const { rows } = await db.raw(
      `WITH dup AS (
         SELECT ${key.join(', ')} FROM ${table} t WHERE ${IN_SCOPE('t')} AND ${open} GROUP BY ${key.join(', ')} HAVING count(*) > 1
       ), gone AS (
         DELETE FROM ${table} t USING dup WHERE ${key.map((k) => `t.${k} = dup.${k}`).join(' AND ')} RETURNING t.*
       ), kept AS (
         INSERT INTO ${table} (${columns})
         SELECT ${key.join(', ')}, ${values.map((v) => aggregateOf(v)).join(', ')} FROM gone GROUP BY ${key.join(', ')}
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept) AS removed`,
      { schools: schoolIds },
    );
    out[table] = Number(rows[0].removed);
  }
  return out;
}

/**
 * Replaces the roll-ups of the schools (all when NULL) by their recomputation from the raw
 * history. For data loaded in bulk with triggers off; a closed month's rows cannot be rewritten
 * (the tables' triggers refuse it), so this is for schools without closed months.
 */
export async function rebuildRollups(db: Knex, schoolIds: string[] | null = null): Promise<Record<RollupTable, number>> {
  return db.transaction(async (trx) => {
    const out = {} as Record<RollupTable, number>;
    for (const table of TABLES) {
      const { key, values, sql } = EXPECTED_ROLLUPS[table];
      await trx.raw(`DELETE FROM ${table} t WHERE ${IN_SCOPE('t')}`, { schools: schoolIds });
      const res = await trx.raw(`INSERT INTO ${table} (${[...key, ...values].join(', ')}) SELECT ${[...key, ...values].join(', ')} FROM (${sql}) e`, { schools: schoolIds });
      out[table] = res.rowCount as number;
    }
    return out;
  });
}

/** Every few minutes: the delta rows the triggers appended, compacted (see `compactRollups`). */
export async function compactReportRollups(deps: { db: Knex; clock: Clock }, schoolId?: string): Promise<{ removed: number; at: string }> {
  const removed = await compactRollups(deps.db, schoolId ? [schoolId] : null);
  return { removed: Object.values(removed).reduce((a, b) => a + b, 0), at: deps.clock.now().toISOString() };
}

/** The nightly job: every school's roll-ups checked against the raw history; a difference is logged as an error. */
export async function checkReportRollups(deps: { db: Knex; clock: Clock; logger: Logger }, schoolId?: string): Promise<{ mismatches: number; by_table: Record<RollupTable, number>; checked_at: string }> {
  const byTable = await verifyRollups(deps.db, schoolId ? [schoolId] : null);
  const mismatches = Object.values(byTable).reduce((a, b) => a + b, 0);
  if (mismatches > 0) deps.logger.error({ by_table: byTable, school_id: schoolId ?? null }, 'report roll-ups differ from the raw history');
  return { mismatches, by_table: byTable, checked_at: deps.clock.now().toISOString() };
}
