import type { Db } from '../../db/knex';

/**
 * Reads of the roll-up tables (kept by the triggers of migration 20261201030000) and of the raw
 * history where a report needs a point in time (ageing, defaulters). `month` is the first day of
 * the month, `YYYY-MM-01`.
 */

export interface SchoolPlacementRow {
  id: string;
  name: string;
  district_id: string;
  district_code: string;
  district_name: string;
  city_id: string;
  city_code: string;
  city_name: string;
}

const PLACEMENT = `SELECT s.id, s.name, s.district_id, d.code AS district_code, d.name AS district_name, c.id AS city_id, c.code AS city_code, c.name AS city_name
  FROM schools s JOIN districts d ON d.id = s.district_id JOIN cities c ON c.id = d.city_id`;

export async function findSchoolsWhere(db: Db, where: { schoolId?: string; districtId?: string; cityId?: string }): Promise<SchoolPlacementRow[]> {
  const filters = [
    { sql: 's.id = ?', value: where.schoolId },
    { sql: 's.district_id = ?', value: where.districtId },
    { sql: 'd.city_id = ?', value: where.cityId },
  ].filter((f) => f.value !== undefined);
  const clauses = filters.map((f) => f.sql).join(' AND ') || 'true';
  const { rows } = await db.raw(`${PLACEMENT} WHERE ${clauses} ORDER BY d.code, s.name, s.id`, filters.map((f) => f.value as string));
  return rows as SchoolPlacementRow[];
}

export async function findDistrictByCode(db: Db, code: string, cityIds: string[]) {
  return db('districts as d').join('cities as c', 'c.id', 'd.city_id').where('d.code', code).whereIn('d.city_id', cityIds)
    .first<{ id: string; code: string; name: string; city_id: string; city_code: string; city_name: string } | undefined>('d.id', 'd.code', 'd.name', 'd.city_id', 'c.code as city_code', 'c.name as city_name');
}

export async function findCityByCode(db: Db, code: string) {
  return db('cities').where({ code }).first<{ id: string; code: string; name: string } | undefined>('id', 'code', 'name');
}

/** Per school: the month's figures and the balances at its end (all amounts as pg bigint strings). */
export interface SchoolMonthRow {
  school_id: string;
  billed_vnd: string;
  exempted_vnd: string;
  discounted_vnd: string;
  credit_notes_vnd: string;
  bill_payment_vnd: string;
  qr_transfer_vnd: string;
  vnpay_vnd: string;
  manual_vnd: string;
  statement_vnd: string;
  credit_applied_vnd: string;
  outstanding_vnd: string;
  credit_balance_vnd: string;
  refunded_vnd: string;
}

export async function schoolMonthFigures(db: Db, schoolIds: string[], month: string): Promise<SchoolMonthRow[]> {
  const { rows } = await db.raw(
    `SELECT s.id AS school_id,
            coalesce(b.billed, 0) AS billed_vnd, coalesce(b.exempted, 0) AS exempted_vnd, coalesce(b.discounted, 0) AS discounted_vnd, coalesce(b.credit_notes, 0) AS credit_notes_vnd,
            coalesce(c.bill_payment, 0) AS bill_payment_vnd, coalesce(c.qr_transfer, 0) AS qr_transfer_vnd, coalesce(c.vnpay, 0) AS vnpay_vnd,
            coalesce(c.manual, 0) AS manual_vnd, coalesce(c.statement, 0) AS statement_vnd, coalesce(c.credit, 0) AS credit_applied_vnd,
            coalesce(m.outstanding, 0) AS outstanding_vnd, coalesce(m.credit_balance, 0) AS credit_balance_vnd, coalesce(m.refunded, 0) AS refunded_vnd
       FROM unnest(?::text[]) AS s(id)
       LEFT JOIN (SELECT school_id, sum(billed_vnd) AS billed, sum(exempted_vnd) AS exempted, sum(discounted_vnd) AS discounted, sum(credit_notes_vnd) AS credit_notes
                    FROM report_fee_item_months WHERE school_id = ANY(?::text[]) AND month = ?::date GROUP BY school_id) b ON b.school_id = s.id
       LEFT JOIN (SELECT school_id,
                         sum(amount_vnd) FILTER (WHERE channel = 'bill_payment') AS bill_payment, sum(amount_vnd) FILTER (WHERE channel = 'qr_transfer') AS qr_transfer,
                         sum(amount_vnd) FILTER (WHERE channel = 'vnpay') AS vnpay, sum(amount_vnd) FILTER (WHERE channel = 'manual') AS manual,
                         sum(amount_vnd) FILTER (WHERE channel = 'statement') AS statement, sum(amount_vnd) FILTER (WHERE channel = 'credit') AS credit
                    FROM report_collection_months WHERE school_id = ANY(?::text[]) AND month = ?::date GROUP BY school_id) c ON c.school_id = s.id
       LEFT JOIN (SELECT school_id, sum(receivable_change_vnd) AS outstanding, sum(credit_change_vnd) AS credit_balance,
                         sum(refunded_vnd) FILTER (WHERE month = ?::date) AS refunded
                    FROM report_school_months WHERE school_id = ANY(?::text[]) AND month <= ?::date GROUP BY school_id) m ON m.school_id = s.id`,
    [schoolIds, schoolIds, month, schoolIds, month, month, schoolIds, month],
  );
  return rows as SchoolMonthRow[];
}

export interface FeeItemMonthRow extends Omit<SchoolMonthRow, 'school_id' | 'outstanding_vnd' | 'credit_balance_vnd' | 'refunded_vnd'> {
  fee_item_code: string;
  fee_item_name: string;
}

/** The month's figures per fee item, across the schools (items of different schools meet by code). */
export async function feeItemMonthFigures(db: Db, schoolIds: string[], month: string): Promise<FeeItemMonthRow[]> {
  const { rows } = await db.raw(
    `SELECT f.code AS fee_item_code, min(f.name) AS fee_item_name,
            sum(x.billed) AS billed_vnd, sum(x.exempted) AS exempted_vnd, sum(x.discounted) AS discounted_vnd, sum(x.credit_notes) AS credit_notes_vnd,
            sum(x.amount) FILTER (WHERE x.channel = 'bill_payment') AS bill_payment_vnd, sum(x.amount) FILTER (WHERE x.channel = 'qr_transfer') AS qr_transfer_vnd,
            sum(x.amount) FILTER (WHERE x.channel = 'vnpay') AS vnpay_vnd, sum(x.amount) FILTER (WHERE x.channel = 'manual') AS manual_vnd,
            sum(x.amount) FILTER (WHERE x.channel = 'statement') AS statement_vnd, sum(x.amount) FILTER (WHERE x.channel = 'credit') AS credit_applied_vnd
       FROM (SELECT school_id, fee_item_id, billed_vnd AS billed, exempted_vnd AS exempted, discounted_vnd AS discounted, credit_notes_vnd AS credit_notes, NULL::text AS channel, 0::bigint AS amount
               FROM report_fee_item_months WHERE school_id = ANY(?::text[]) AND month = ?::date
             UNION ALL
             SELECT school_id, fee_item_id, 0, 0, 0, 0, channel, amount_vnd
               FROM report_collection_months WHERE school_id = ANY(?::text[]) AND month = ?::date) x
       JOIN fee_items f ON f.school_id = x.school_id AND f.id = x.fee_item_id
      GROUP BY f.code ORDER BY f.code`,
    [schoolIds, month, schoolIds, month],
  );
  return rows as FeeItemMonthRow[];
}

export interface ReceiptMonthRow {
  template_code: string;
  symbol: string;
  schools: string;
  first_number: number | null;
  last_number: number | null;
  issued_count: string;
  cancelled_count: string;
  amount_vnd: string;
}

export async function receiptMonthFigures(db: Db, schoolIds: string[], month: string): Promise<ReceiptMonthRow[]> {
  const { rows } = await db.raw(
    `SELECT template_code, symbol, count(DISTINCT school_id) AS schools, min(first_number) AS first_number, max(last_number) AS last_number,
            sum(issued_count) AS issued_count, sum(cancelled_count) AS cancelled_count, sum(amount_vnd) AS amount_vnd
       FROM report_receipt_months WHERE school_id = ANY(?::text[]) AND month = ?::date
      GROUP BY template_code, symbol ORDER BY template_code, symbol`,
    [schoolIds, month],
  );
  return rows as ReceiptMonthRow[];
}

/**
 * Exceptions still open that concern the month or an earlier one: reconciliation results of
 * statement days up to the month's last day, and payment exceptions raised before its end.
 */
export async function openExceptions(db: Db, schoolIds: string[], monthEndsAt: Date, lastDay: string): Promise<{ school_id: string; count: string; amount_vnd: string }[]> {
  const { rows } = await db.raw(
    `SELECT school_id, count(*) AS count, coalesce(sum(amount_vnd), 0) AS amount_vnd FROM (
       SELECT school_id, amount_vnd FROM reconciliation_results WHERE status = 'open' AND school_id = ANY(?::text[]) AND statement_on <= ?::date
       UNION ALL
       SELECT school_id, amount_vnd FROM payment_exceptions WHERE status = 'open' AND school_id = ANY(?::text[]) AND created_at < ?
     ) e GROUP BY school_id`,
    [schoolIds, lastDay, schoolIds, monthEndsAt],
  );
  return rows;
}

export async function lateEvents(db: Db, schoolIds: string[], month: string): Promise<{ concerns_month: string; events: string }[]> {
  const { rows } = await db.raw(
    `SELECT to_char(concerns_month, 'YYYY-MM') AS concerns_month, count(*) AS events FROM report_period_moves
      WHERE school_id = ANY(?::text[]) AND month = ?::date GROUP BY concerns_month ORDER BY concerns_month`,
    [schoolIds, month],
  );
  return rows;
}

export interface ClosedMonthRow {
  school_id: string;
  month: string;
  closed_at: Date;
  closed_by: string;
  open_exceptions: number;
  override_reason: string | null;
  report_json: string;
  report_sha256: string;
}

export async function findClosedMonth(db: Db, schoolId: string, month: string): Promise<ClosedMonthRow | undefined> {
  return db('closed_months').where({ school_id: schoolId, month }).first<ClosedMonthRow | undefined>();
}

export async function countClosedSchools(db: Db, schoolIds: string[], month: string): Promise<number> {
  const { rows } = await db.raw('SELECT count(*) AS n FROM closed_months WHERE school_id = ANY(?::text[]) AND month = ?::date', [schoolIds, month]);
  return Number(rows[0].n);
}

/**
 * What each issued invoice still owed at the end of `asOfDay` (Vietnam), with its class and due
 * date: total - credit notes made by then - allocations made by then. When the day is today or
 * later, the invoices' own figures are current, and only unpaid invoices are read.
 */
const OUTSTANDING_AT = `
  WITH inv AS (
    SELECT i.school_id, i.id, i.person_id, i.class_id, i.due_on, i.series, i.number, i.total_vnd,
           CASE WHEN :live THEN i.credited_vnd ELSE coalesce((SELECT sum(cn.amount_vnd) FROM credit_notes cn WHERE cn.school_id = i.school_id AND cn.invoice_id = i.id AND cn.created_at < :end), 0) END AS credited_vnd,
           CASE WHEN :live THEN i.paid_vnd ELSE coalesce((SELECT sum(a.amount_vnd) FROM allocations a WHERE a.school_id = i.school_id AND a.invoice_id = i.id AND a.created_at < :end), 0) END AS paid_vnd
      FROM invoices i
     WHERE i.school_id = ANY(:schools::text[])
       AND CASE WHEN :live THEN i.status IN ('open', 'partially_paid')
                ELSE i.issued_at < :end AND (i.voided_at IS NULL OR i.voided_at >= :end) END
  ), o AS (
    SELECT inv.*, total_vnd - credited_vnd - paid_vnd AS outstanding_vnd, :day::date - due_on AS days_past_due FROM inv
  )`;

export interface OutstandingInvoiceRow {
  school_id: string;
  id: string;
  person_id: string;
  class_id: string | null;
  due_on: string;
  series: string;
  number: number;
  total_vnd: string;
  credited_vnd: string;
  paid_vnd: string;
  outstanding_vnd: string;
  days_past_due: number;
}

function outstandingParams(schoolIds: string[], asOfDay: string, end: Date, live: boolean) {
  return { schools: schoolIds, day: asOfDay, end, live };
}

export interface AgeingSqlRow {
  grp: 'school' | 'class' | 'fee_item';
  school_id: string;
  key: string;
  label: string;
  current: string;
  days_1_30: string;
  days_31_60: string;
  days_61_90: string;
  days_over_90: string;
}

/** Ageing buckets per school, per class (when `withClasses`) and per (school, fee item). */
export async function ageingRows(db: Db, schoolIds: string[], asOfDay: string, end: Date, live: boolean, withClasses: boolean): Promise<AgeingSqlRow[]> {
  const buckets = (amount: string) => `
    coalesce(sum(${amount}) FILTER (WHERE days_past_due <= 0), 0) AS current,
    coalesce(sum(${amount}) FILTER (WHERE days_past_due BETWEEN 1 AND 30), 0) AS days_1_30,
    coalesce(sum(${amount}) FILTER (WHERE days_past_due BETWEEN 31 AND 60), 0) AS days_31_60,
    coalesce(sum(${amount}) FILTER (WHERE days_past_due BETWEEN 61 AND 90), 0) AS days_61_90,
    coalesce(sum(${amount}) FILTER (WHERE days_past_due > 90), 0) AS days_over_90`;
  const { rows } = await db.raw(
    `${OUTSTANDING_AT}, owing AS MATERIALIZED (SELECT * FROM o WHERE outstanding_vnd > 0),
     w AS (
       SELECT l.school_id, l.invoice_id, l.fee_item_id, sum(l.total_vnd) AS weight FROM invoice_lines l
        WHERE (l.school_id, l.invoice_id) IN (SELECT school_id, id FROM owing) GROUP BY 1, 2, 3
     ), split AS (
       SELECT owing.school_id, owing.days_past_due, w.fee_item_id,
              trunc(owing.outstanding_vnd::numeric * sum(w.weight) OVER win / nullif(sum(w.weight) OVER all_items, 0))
                - trunc(owing.outstanding_vnd::numeric * (sum(w.weight) OVER win - w.weight) / nullif(sum(w.weight) OVER all_items, 0)) AS share
         FROM owing JOIN w ON w.school_id = owing.school_id AND w.invoice_id = owing.id
       WINDOW win AS (PARTITION BY owing.school_id, owing.id ORDER BY w.fee_item_id), all_items AS (PARTITION BY owing.school_id, owing.id)
     )
     SELECT 'school' AS grp, owing.school_id, owing.school_id AS key, s.name AS label, ${buckets('outstanding_vnd')}
       FROM owing JOIN schools s ON s.id = owing.school_id GROUP BY owing.school_id, s.name
     UNION ALL
     SELECT 'class', owing.school_id, coalesce(owing.class_id, ''), coalesce(min(c.name), 'Không xếp lớp'), ${buckets('outstanding_vnd')}
       FROM owing LEFT JOIN classes c ON c.school_id = owing.school_id AND c.id = owing.class_id
      WHERE :withClasses GROUP BY owing.school_id, owing.class_id
     UNION ALL
     SELECT 'fee_item', split.school_id, f.code, min(f.name), ${buckets('share')}
       FROM split JOIN fee_items f ON f.school_id = split.school_id AND f.id = split.fee_item_id
      GROUP BY split.school_id, f.code`,
    { ...outstandingParams(schoolIds, asOfDay, end, live), withClasses },
  );
  return rows as AgeingSqlRow[];
}

export interface DefaulterSqlRow extends OutstandingInvoiceRow {
  personal_id: string;
  full_name: string;
  class_name: string | null;
}

/** Invoices past due on the day with something still owed (partial payments and exemptions netted). */
export async function defaulterRows(db: Db, schoolId: string, asOfDay: string, end: Date, live: boolean): Promise<DefaulterSqlRow[]> {
  const { rows } = await db.raw(
    `${OUTSTANDING_AT}
     SELECT o.*, p.personal_id, p.full_name, c.name AS class_name
       FROM o JOIN people p ON p.id = o.person_id LEFT JOIN classes c ON c.school_id = o.school_id AND c.id = o.class_id
      WHERE o.outstanding_vnd > 0 AND o.days_past_due > 0
      ORDER BY o.days_past_due DESC, c.name NULLS LAST, p.full_name, o.id`,
    outstandingParams([schoolId], asOfDay, end, live),
  );
  return rows as DefaulterSqlRow[];
}
