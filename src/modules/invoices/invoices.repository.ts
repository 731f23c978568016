import type { Db } from '../../db/knex';
import type { PricedLine } from './invoice-pricing';

export interface InvoiceRunRow {
  id: string;
  school_id: string;
  period_kind: 'month' | 'term' | 'year';
  period_label: string;
  period_start: string;
  period_end: string;
  due_on: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  total: number;
  done: number;
  failed: number;
  errors: { student_id: string; code: string; message: string }[];
  failure_reason: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface InvoiceRow {
  id: string;
  school_id: string;
  person_id: string;
  class_id: string;
  plan_version_id: string;
  run_id: string | null;
  period_kind: string;
  period_label: string;
  period_start: string;
  period_end: string;
  due_on: string;
  status: 'draft' | 'open' | 'partially_paid' | 'paid' | 'void';
  series: string | null;
  number: number | null;
  total_vnd: string;
  /** Taken off by credit notes. */
  credited_vnd: string;
  paid_vnd: string;
  payment_code: string;
  pay_token: string;
  created_at: Date;
  issued_at: Date | null;
  voided_at: Date | null;
  void_reason: string | null;
}

export interface InvoiceLineRow {
  line_no: number;
  kind: 'fee' | 'discount';
  fee_item_id: string;
  fee_item_code: string;
  description: string;
  quantity: number;
  unit_amount_vnd: string;
  gross_vnd: string;
  exemption_percent: number;
  exemption_vnd: string;
  total_vnd: string;
  reason_code: string | null;
}

export interface StudentForBilling {
  person_id: string;
  class_id: string;
  grade: number;
  academic_year_id: string;
  enrolled_on: string;
  left_on: string | null;
}

export interface PlanVersionForBilling {
  plan_id: string;
  academic_year_id: string;
  grade: number;
  class_id: string | null;
  version_id: string;
}

export interface BillingItemRow {
  version_id: string;
  fee_item_id: string;
  code: string;
  name: string;
  unit: 'month' | 'school_day' | 'term' | 'year' | 'one_off';
  exemptible: boolean;
  optional: boolean;
  amount_vnd: string;
}

export async function insertRun(db: Db, row: { schoolId: string; periodKind: string; label: string; start: string; end: string; dueOn: string; createdBy: string; at: Date }): Promise<InvoiceRunRow> {
  const [r] = await db('invoice_runs')
    .insert({ school_id: row.schoolId, period_kind: row.periodKind, period_label: row.label, period_start: row.start, period_end: row.end, due_on: row.dueOn, created_by: row.createdBy, created_at: row.at })
    .returning<InvoiceRunRow[]>('*');
  return r!;
}

export async function findRun(db: Db, schoolId: string, runId: string): Promise<InvoiceRunRow | undefined> {
  return db('invoice_runs').where({ school_id: schoolId, id: runId }).first<InvoiceRunRow | undefined>();
}

export async function findSucceededRun(db: Db, schoolId: string, periodKind: string, start: string): Promise<InvoiceRunRow | undefined> {
  return db('invoice_runs').where({ school_id: schoolId, period_kind: periodKind, period_start: start, status: 'succeeded' }).first<InvoiceRunRow | undefined>();
}

/** Takes a queued run, or a stale running one, for execution; undefined when someone else has it. */
export async function claimRun(db: Db, schoolId: string, runId: string, now: Date, staleMs: number): Promise<InvoiceRunRow | undefined> {
  const [row] = await db('invoice_runs')
    .where({ school_id: schoolId, id: runId })
    .where((q) => q.where({ status: 'queued' }).orWhere((r) => r.where({ status: 'running' }).where('started_at', '<', new Date(now.getTime() - staleMs))))
    .update({ status: 'running', started_at: now, done: 0, failed: 0, errors: '[]' })
    .returning<InvoiceRunRow[]>('*');
  return row;
}

/** A queued, running or finished run of the same kind whose dates overlap (different start). */
export async function findOverlappingRun(db: Db, schoolId: string, periodKind: string, start: string, end: string): Promise<InvoiceRunRow | undefined> {
  return db('invoice_runs')
    .where({ school_id: schoolId, period_kind: periodKind })
    .whereNot({ status: 'failed' })
    .whereNot({ period_start: start })
    .where('period_start', '<=', end)
    .where('period_end', '>=', start)
    .first<InvoiceRunRow | undefined>();
}

export async function updateRun(db: Db, schoolId: string, runId: string, changes: Record<string, unknown>): Promise<void> {
  await db('invoice_runs').where({ school_id: schoolId, id: runId }).update(changes);
}

/** Adds a batch's progress in one statement (never read-modify-write). */
export async function addRunProgress(db: Db, schoolId: string, runId: string, done: number, failed: number, errors: unknown[]): Promise<void> {
  await db.raw(
    `UPDATE invoice_runs SET done = done + ?, failed = failed + ?, errors = CASE WHEN jsonb_array_length(errors) < 1000 THEN errors || ?::jsonb ELSE errors END
     WHERE school_id = ? AND id = ?`,
    [done, failed, JSON.stringify(errors), schoolId, runId],
  );
}

/** Students enrolled at any time in the period, in classes of an academic year that overlaps it. */
export async function listStudentsForBilling(db: Db, schoolId: string, start: string, end: string): Promise<StudentForBilling[]> {
  const result = await db.raw<{ rows: StudentForBilling[] }>(
    `SELECT e.person_id, e.class_id, c.grade, c.academic_year_id, e.enrolled_on, e.left_on
     FROM enrollments e
     JOIN classes c ON c.school_id = e.school_id AND c.id = e.class_id
     JOIN academic_years ay ON ay.id = c.academic_year_id
     WHERE e.school_id = ? AND e.enrolled_on <= ? AND (e.left_on IS NULL OR e.left_on > ?)
       AND ay.starts_on <= ? AND ay.ends_on >= ?
     ORDER BY e.person_id`,
    [schoolId, end, start, end, start],
  );
  return result.rows;
}

/** For every plan of the school, the version in effect on the period's first day. */
export async function listEffectiveVersions(db: Db, schoolId: string, onDate: string): Promise<PlanVersionForBilling[]> {
  const result = await db.raw<{ rows: PlanVersionForBilling[] }>(
    `SELECT DISTINCT ON (p.id) p.id AS plan_id, p.academic_year_id, p.grade, p.class_id, v.id AS version_id
     FROM fee_plans p JOIN fee_plan_versions v ON v.school_id = p.school_id AND v.plan_id = p.id
     WHERE p.school_id = ? AND v.effective_from <= ?
     ORDER BY p.id, v.effective_from DESC`,
    [schoolId, onDate],
  );
  return result.rows;
}

export async function listBillingItems(db: Db, schoolId: string, versionIds: string[]): Promise<BillingItemRow[]> {
  if (versionIds.length === 0) return [];
  return db('fee_plan_version_items as vi')
    .join('fee_items as f', function () {
      this.on('f.school_id', '=', 'vi.school_id').andOn('f.id', '=', 'vi.fee_item_id');
    })
    .where('vi.school_id', schoolId)
    .whereIn('vi.version_id', versionIds)
    .select<BillingItemRow[]>('vi.version_id', 'vi.fee_item_id', 'f.code', 'f.name', 'f.unit', 'f.exemptible', 'f.optional', 'vi.amount_vnd');
}

export async function listExemptionPercents(db: Db, schoolId: string, start: string, end: string): Promise<{ person_id: string; percent: number }[]> {
  return db('exemptions')
    .where({ school_id: schoolId, status: 'approved' })
    .where('valid_from', '<=', end)
    .where('valid_to', '>=', start)
    .groupBy('person_id')
    .select('person_id', db.raw('max(percent)::int AS percent'));
}

export async function listDiscountsInPeriod(db: Db, schoolId: string, start: string, end: string): Promise<{ person_id: string; fee_item_id: string; percent: string | null; amount_vnd: string | null; reason_code: string }[]> {
  return db('discounts').where({ school_id: schoolId }).where('valid_from', '<=', end).where('valid_to', '>=', start).select('person_id', 'fee_item_id', 'percent', 'amount_vnd', 'reason_code');
}

/**
 * Discounts from the school's sibling rules, shaped like `listDiscountsInPeriod`'s rows. Siblings
 * are students billed in the period who share a verified guardian (links of students under 18 on
 * the period's first day); a student's child number is how many of their siblings at the school,
 * themselves included, are as old or older (by date of birth, then id), so the eldest is child 1.
 */
export async function listSiblingDiscountsInPeriod(db: Db, schoolId: string, start: string, end: string): Promise<{ person_id: string; fee_item_id: string; percent: string | null; amount_vnd: string | null; reason_code: string }[]> {
  const result = await db.raw<{ rows: { person_id: string; fee_item_id: string; percent: string | null; amount_vnd: string | null; reason_code: string }[] }>(
    `WITH rules AS (
       SELECT fee_item_id, from_child, percent, reason_code FROM sibling_rules
       WHERE school_id = :school AND valid_from <= :end AND (valid_to IS NULL OR valid_to >= :start)),
     billed AS (
       SELECT DISTINCT e.person_id FROM enrollments e
       WHERE e.school_id = :school AND e.enrolled_on <= :end AND (e.left_on IS NULL OR e.left_on > :start)
         AND EXISTS (SELECT 1 FROM rules)),
     ward AS (
       SELECT l.guardian_person_id, l.student_person_id, p.date_of_birth, p.id
       FROM guardian_links l JOIN billed b ON b.person_id = l.student_person_id JOIN people p ON p.id = l.student_person_id
       WHERE l.status = 'verified' AND p.date_of_birth + interval '18 years' > :start::date),
     ranked AS (
       SELECT w.student_person_id AS person_id, count(DISTINCT w2.student_person_id) AS child_no
       FROM ward w JOIN ward w2 ON w2.guardian_person_id = w.guardian_person_id
       WHERE (w2.date_of_birth, w2.id) <= (w.date_of_birth, w.id)
       GROUP BY w.student_person_id)
     SELECT r.person_id, x.fee_item_id, x.percent::text AS percent, NULL AS amount_vnd, x.reason_code
     FROM ranked r JOIN rules x ON r.child_no >= x.from_child
     ORDER BY r.person_id, x.reason_code`,
    { school: schoolId, start, end },
  );
  return result.rows;
}

export async function listOptionalEnrollmentsInPeriod(db: Db, schoolId: string, start: string, end: string): Promise<{ person_id: string; fee_item_id: string }[]> {
  return db('optional_item_enrollments').where({ school_id: schoolId }).where('from_on', '<=', end).where((q) => q.whereNull('to_on').orWhere('to_on', '>=', start)).select('person_id', 'fee_item_id');
}

export async function lockVersions(db: Db, schoolId: string, versionIds: string[], at: Date): Promise<void> {
  await db('fee_plan_versions').where({ school_id: schoolId }).whereIn('id', versionIds).whereNull('locked_at').update({ locked_at: at });
}

export interface NewInvoice {
  personId: string;
  classId: string;
  versionId: string;
  totalVnd: number;
  paymentCode: string;
  payToken: string;
}

/** Inserts a batch of invoices set-based; existing ones (same school, student, period) are skipped. */
export async function insertInvoices(db: Db, run: InvoiceRunRow, now: Date, rows: NewInvoice[]): Promise<{ id: string; person_id: string }[]> {
  const result = await db.raw<{ rows: { id: string; person_id: string }[] }>(
    `INSERT INTO invoices (school_id, person_id, class_id, plan_version_id, run_id, period_kind, period_label, period_start, period_end, due_on, total_vnd, payment_code, pay_token, created_at)
     SELECT ?, r.person_id, r.class_id, r.version_id, ?, ?, ?, ?, ?, ?, r.total_vnd, r.payment_code, r.pay_token, ?::timestamptz
     FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[]) AS r(person_id, class_id, version_id, total_vnd, payment_code, pay_token)
     ON CONFLICT (school_id, person_id, period_kind, period_start) DO NOTHING
     RETURNING id, person_id`,
    [
      run.school_id, run.id, run.period_kind, run.period_label, run.period_start, run.period_end, run.due_on, now,
      rows.map((r) => r.personId), rows.map((r) => r.classId), rows.map((r) => r.versionId), rows.map((r) => String(r.totalVnd)), rows.map((r) => r.paymentCode), rows.map((r) => r.payToken),
    ],
  );
  return result.rows;
}

/** A priced line (invoice-pricing.ts) placed on an invoice. */
export type NewLine = PricedLine & { invoiceId: string; lineNo: number };

export async function insertLines(db: Db, schoolId: string, lines: NewLine[]): Promise<void> {
  if (lines.length === 0) return;
  await db.raw(
    `INSERT INTO invoice_lines (school_id, invoice_id, line_no, kind, fee_item_id, description, quantity, unit_amount_vnd, gross_vnd, exemption_percent, exemption_vnd, total_vnd, reason_code)
     SELECT ?, l.* FROM unnest(?::text[], ?::smallint[], ?::text[], ?::text[], ?::text[], ?::int[], ?::bigint[], ?::bigint[], ?::smallint[], ?::bigint[], ?::bigint[], ?::text[])
       AS l(invoice_id, line_no, kind, fee_item_id, description, quantity, unit_amount_vnd, gross_vnd, exemption_percent, exemption_vnd, total_vnd, reason_code)`,
    [
      schoolId,
      lines.map((l) => l.invoiceId), lines.map((l) => l.lineNo), lines.map((l) => l.kind), lines.map((l) => l.feeItemId), lines.map((l) => l.description),
      lines.map((l) => l.quantity), lines.map((l) => String(l.unitAmountVnd)), lines.map((l) => String(l.grossVnd)), lines.map((l) => l.exemptionPercent),
      lines.map((l) => String(l.exemptionVnd)), lines.map((l) => String(l.totalVnd)),
      // pg sends null array elements as SQL NULL; knex's types only allow non-null strings.
      lines.map((l) => l.reasonCode) as string[],
    ],
  );
}

export async function findInvoiceById(db: Db, invoiceId: string, forUpdate = false): Promise<InvoiceRow | undefined> {
  const q = db('invoices').where({ id: invoiceId });
  if (forUpdate) q.forUpdate();
  return q.first<InvoiceRow | undefined>();
}

export async function findInvoiceByPayToken(db: Db, token: string): Promise<InvoiceRow | undefined> {
  return db('invoices').where({ pay_token: token }).first<InvoiceRow | undefined>();
}

export async function listLines(db: Db, schoolId: string, invoiceId: string): Promise<InvoiceLineRow[]> {
  return db('invoice_lines as l')
    .join('fee_items as f', function () {
      this.on('f.school_id', '=', 'l.school_id').andOn('f.id', '=', 'l.fee_item_id');
    })
    .where({ 'l.school_id': schoolId, 'l.invoice_id': invoiceId })
    .orderBy('l.line_no')
    .select<InvoiceLineRow[]>('l.line_no', 'l.kind', 'l.fee_item_id', 'f.code as fee_item_code', 'l.description', 'l.quantity', 'l.unit_amount_vnd', 'l.gross_vnd', 'l.exemption_percent', 'l.exemption_vnd', 'l.total_vnd', 'l.reason_code');
}

/** Takes `count` consecutive numbers from the (school, series) counter, inside the caller's transaction. */
export async function takeNumbers(db: Db, schoolId: string, series: string, count: number): Promise<number> {
  await db('invoice_number_counters').insert({ school_id: schoolId, series }).onConflict(['school_id', 'series']).ignore();
  const result = await db.raw<{ rows: { first: number }[] }>(
    'UPDATE invoice_number_counters SET next_number = next_number + ? WHERE school_id = ? AND series = ? RETURNING next_number - ? AS first',
    [count, schoolId, series, count],
  );
  return result.rows[0]!.first;
}

export async function listInvoices(
  db: Db,
  schoolId: string,
  filter: { status?: string; classId?: string; studentId?: string; runId?: string },
  page: { limit: number; startingAfter?: string },
): Promise<InvoiceRow[]> {
  const q = db('invoices').where({ school_id: schoolId });
  if (filter.status) q.where({ status: filter.status });
  if (filter.classId) q.where({ class_id: filter.classId });
  if (filter.studentId) q.where({ person_id: filter.studentId });
  if (filter.runId) q.where({ run_id: filter.runId });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return q.orderBy('id').limit(page.limit + 1).select<InvoiceRow[]>('*');
}

export async function findStudentSummary(db: Db, schoolId: string, personId: string, classId: string): Promise<{ full_name: string; personal_id: string; class_name: string } | undefined> {
  return db('people as p')
    .join('classes as c', (j) => j.on('c.school_id', '=', db.raw('?', [schoolId])).andOn('c.id', '=', db.raw('?', [classId])))
    .where('p.id', personId)
    .first<{ full_name: string; personal_id: string; class_name: string } | undefined>('p.full_name', 'p.personal_id', 'c.name as class_name');
}
