import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { ConflictError, NotFoundError, ValidationError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import { type Clock, isCalendarDate, monthBounds, vietnamDate, vietnamYear } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { newPaymentCode } from '../../lib/payment-code';
import { isUniqueViolation } from '../../lib/pg-errors';
import { isGuardianOf, type Principal, requireSchoolInScope, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { type JournalInput, postJournals } from '../ledger/ledger.service';
import { applyStudentCredit } from '../payments/payments.service';
import { findDefaultCollectionAccount } from '../schools/schools.service';
import { type PeriodKind, priceInvoice, type PricedItem } from './invoice-pricing';
import * as repo from './invoices.repository';

export type { InvoiceLineRow, InvoiceRow, InvoiceRunRow } from './invoices.repository';

const STAFF = ['accountant', 'school_admin'] as const;
const BATCH_SIZE = 1000;
const WRITE_CONCURRENCY = 2;
const STALE_RUN_MS = 15 * 60 * 1000;

export interface InvoiceContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

export type PeriodRequest =
  | { kind: 'month'; month: string; dueOn?: string }
  | { kind: 'term'; label: string; start: string; end: string; dueOn?: string }
  | { kind: 'year'; academicYear: string; dueOn?: string };


function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86400000).toISOString().slice(0, 10);
}

async function resolvePeriod(db: Knex, request: PeriodRequest): Promise<{ kind: PeriodKind; label: string; start: string; end: string }> {
  if (request.kind === 'month') {
    const [y, m] = request.month.split('-');
    return { kind: 'month', label: `Tháng ${m}/${y}`, ...monthBounds(request.month) };
  }
  if (request.kind === 'term') {
    if (request.end < request.start) throw new ValidationError('DATE_RANGE_INVALID', 'The term must end after it starts.', { param: 'end' });
    return { kind: 'term', label: request.label, start: request.start, end: request.end };
  }
  const year = await db('academic_years').where({ code: request.academicYear }).first<{ starts_on: string; ends_on: string } | undefined>('starts_on', 'ends_on');
  if (!year) throw new UnprocessableError('ACADEMIC_YEAR_NOT_FOUND', 'No such academic year.', 'academic_year');
  return { kind: 'year', label: `Năm học ${request.academicYear}`, start: year.starts_on, end: year.ends_on };
}

/**
 * Starts invoice generation for a school and period and returns the run at once; the caller
 * executes it in the background (executeInvoiceRun) and clients follow its progress.
 */
export async function startInvoiceRun(ctx: InvoiceContext, schoolId: string, request: PeriodRequest): Promise<repo.InvoiceRunRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const period = await resolvePeriod(ctx.db, request);
  const dueOn = request.dueOn ?? addDays(period.start, 14);
  if (!isCalendarDate(dueOn) || dueOn < period.start) throw new ValidationError('DUE_DATE_INVALID', 'due_on must not be before the period starts.', { param: 'due_on' });
  if (period.kind !== 'year') {
    const days = await ctx.db('school_days').where({ school_id: schoolId }).whereBetween('day', [period.start, period.end]).count<{ count: string }[]>('* as count');
    if (Number(days[0]!.count) === 0) throw new UnprocessableError('NO_SCHOOL_DAYS', 'Set the school calendar for this period first (PUT /v1/schools/{school_id}/calendar/{month}).', 'period');
  }
  if (await repo.findSucceededRun(ctx.db, schoolId, period.kind, period.start)) {
    throw new ConflictError('PERIOD_ALREADY_GENERATED', 'Invoices for this period were already generated.', { param: 'period' });
  }
  // Periods of one kind never overlap, or an item would be billed twice for the same days.
  if (await repo.findOverlappingRun(ctx.db, schoolId, period.kind, period.start, period.end)) {
    throw new ConflictError('PERIOD_OVERLAPS', 'Another run of this kind covers part of this period.', { param: 'period' });
  }
  try {
    const run = await repo.insertRun(ctx.db, { schoolId, periodKind: period.kind, label: period.label, start: period.start, end: period.end, dueOn, createdBy: ctx.principal.personId, at: ctx.clock.now() });
    await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'invoice_run.started', subjectType: 'invoice_run', subjectId: run.id, details: { period: period.label }, requestId: ctx.requestId, at: ctx.clock.now() });
    return run;
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError('RUN_IN_PROGRESS', 'Invoices for this period are being generated now.', { param: 'period' });
    throw e;
  }
}

/** Runs that were queued or interrupted (the process stopped mid-run): executed again at start-up. */
export async function resumeInterruptedRuns(db: Knex, clock: Clock): Promise<repo.InvoiceRunRow[]> {
  const pending = await db('invoice_runs').whereIn('status', ['queued', 'running']).orderBy('created_at').select<repo.InvoiceRunRow[]>('school_id', 'id');
  const resumed: repo.InvoiceRunRow[] = [];
  for (const r of pending) resumed.push(await executeInvoiceRun(db, clock, r.school_id, r.id));
  return resumed;
}

export async function getInvoiceRun(ctx: Pick<InvoiceContext, 'db' | 'principal'>, schoolId: string, runId: string): Promise<repo.InvoiceRunRow> {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  const run = await repo.findRun(ctx.db, schoolId, runId);
  if (!run) throw new NotFoundError('INVOICE_RUN_NOT_FOUND', 'No such invoice run at this school.', 'run_id');
  return run;
}

interface StudentFailure {
  student_id: string;
  code: string;
  message: string;
}

/**
 * Generates the run's invoices: the inputs are read set-based, each student is priced in memory
 * (src/lib/money.ts rounding), and each batch of invoices and lines is written with two set-based
 * INSERTs. Idempotent per (school, plan version, student, period). A student who cannot be billed
 * is reported with the reason and does not stop the others; a batch that fails to write is retried
 * student by student so only the faulty student fails.
 */
export async function executeInvoiceRun(db: Knex, clock: Clock, schoolId: string, runId: string): Promise<repo.InvoiceRunRow> {
  const existing = await repo.findRun(db, schoolId, runId);
  if (!existing) throw new NotFoundError('INVOICE_RUN_NOT_FOUND', 'No such invoice run.', 'run_id');
  // Claim the run: one executor at a time. A run left 'running' by a process that died is taken
  // over once it is stale; re-executing is safe because invoices are unique per natural key.
  const run = await repo.claimRun(db, schoolId, runId, clock.now(), STALE_RUN_MS);
  if (!run) return existing;
  try {
    await generate(db, clock, run);
    await repo.updateRun(db, schoolId, runId, { status: 'succeeded', finished_at: clock.now() });
  } catch (e) {
    // Staff see a stable reason; the driver's message (SQL, constraint names) goes to the log only.
    await repo.updateRun(db, schoolId, runId, { status: 'failed', finished_at: clock.now(), failure_reason: 'INTERNAL_ERROR' });
    throw e;
  }
  return (await repo.findRun(db, schoolId, runId))!;
}

async function generate(db: Knex, clock: Clock, run: repo.InvoiceRunRow): Promise<void> {
  const schoolId = run.school_id;
  const schoolDays: string[] = await db('school_days').where({ school_id: schoolId }).whereBetween('day', [run.period_start, run.period_end]).orderBy('day').pluck('day');
  // Prices are those in effect on the period's first school day (a plan effective on 5 September
  // prices September, whose first school day is the 7th).
  const pricedOn = schoolDays[0] ?? run.period_start;
  const [students, versions, exemptions, granted, siblingDiscounts, optional, school] = await Promise.all([
    repo.listStudentsForBilling(db, schoolId, run.period_start, run.period_end),
    repo.listEffectiveVersions(db, schoolId, pricedOn),
    repo.listExemptionPercents(db, schoolId, run.period_start, run.period_end),
    repo.listDiscountsInPeriod(db, schoolId, run.period_start, run.period_end),
    repo.listSiblingDiscountsInPeriod(db, schoolId, run.period_start, run.period_end),
    repo.listOptionalEnrollmentsInPeriod(db, schoolId, run.period_start, run.period_end),
    db('schools').where({ id: schoolId }).first<{ payment_code_prefix: string }>('payment_code_prefix'),
  ]);
  // Sibling rules are discounts like the ones granted one by one: explicit lines with a reason code.
  const discounts = [...granted, ...siblingDiscounts];
  await repo.updateRun(db, schoolId, run.id, { total: students.length });

  // Lock the versions before reading their prices: a concurrent price change either committed
  // already (and is read here) or now finds the version locked and is refused.
  await repo.lockVersions(db, schoolId, versions.map((v) => v.version_id), clock.now());
  const items = await repo.listBillingItems(db, schoolId, versions.map((v) => v.version_id));
  const itemsByVersion = new Map<string, PricedItem[]>();
  for (const i of items) {
    const list = itemsByVersion.get(i.version_id) ?? [];
    list.push({ feeItemId: i.fee_item_id, code: i.code, name: i.name, unit: i.unit, exemptible: i.exemptible, optional: i.optional, amountVnd: parseVnd(i.amount_vnd) });
    itemsByVersion.set(i.version_id, list);
  }
  const exemptionOf = new Map(exemptions.map((e) => [e.person_id, e.percent]));
  const optionalOf = new Map<string, Set<string>>();
  for (const o of optional) optionalOf.set(o.person_id, (optionalOf.get(o.person_id) ?? new Set()).add(o.fee_item_id));
  const discountsOf = new Map<string, typeof discounts>();
  for (const d of discounts) discountsOf.set(d.person_id, [...(discountsOf.get(d.person_id) ?? []), d]);

  // A class's own plan wins over its grade's plan.
  const versionFor = (s: repo.StudentForBilling) =>
    versions.find((v) => v.class_id === s.class_id) ?? versions.find((v) => v.class_id === null && v.grade === s.grade && v.academic_year_id === s.academic_year_id);

  const batches: repo.StudentForBilling[][] = [];
  for (let i = 0; i < students.length; i += BATCH_SIZE) batches.push(students.slice(i, i + BATCH_SIZE));

  // Pricing is quick; writing is the cost, and PostgreSQL has more than one core: WRITE_CONCURRENCY
  // batches are written at once, each in its own transaction.
  let nextBatch = 0;
  const worker = async () => {
    while (nextBatch < batches.length) {
      const batch = batches[nextBatch++]!;
      const failures: StudentFailure[] = [];
      const priced: PricedStudent[] = [];
      for (const student of batch) {
        const version = versionFor(student);
        if (!version) {
          failures.push({ student_id: student.person_id, code: 'NO_FEE_PLAN', message: 'No fee plan version is in effect for this student\'s grade or class on the first school day of the period.' });
          continue;
        }
        const attendableDays = schoolDays.filter((d) => d >= student.enrolled_on && (student.left_on === null || d < student.left_on)).length;
        try {
          const invoice = priceInvoice({
            periodKind: run.period_kind,
            schoolDaysInPeriod: schoolDays.length,
            attendableDays,
            items: itemsByVersion.get(version.version_id) ?? [],
            optionalItemIds: optionalOf.get(student.person_id) ?? new Set(),
            exemptionPercent: exemptionOf.get(student.person_id) ?? 0,
            discounts: (discountsOf.get(student.person_id) ?? []).map((d) => ({
              feeItemId: d.fee_item_id,
              percent: d.percent === null ? null : Number(d.percent),
              amountVnd: d.amount_vnd === null ? null : parseVnd(d.amount_vnd),
              reasonCode: d.reason_code,
            })),
          });
          // Nothing billable (e.g. enrolled after the last school day): counted as done, no invoice.
          if (invoice.lines.length > 0) priced.push({ student, versionId: version.version_id, invoice });
        } catch (e) {
          failures.push({ student_id: student.person_id, code: 'PRICING_FAILED', message: e instanceof Error ? e.message : 'pricing failed' });
        }
      }
      failures.push(...(await writeBatch(db, clock, run, school.payment_code_prefix, priced)));
      await repo.addRunProgress(db, schoolId, run.id, batch.length - failures.length, failures.length, failures);
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
}

type PricedStudent = { student: repo.StudentForBilling; versionId: string; invoice: ReturnType<typeof priceInvoice> };

async function insertPriced(trx: Knex.Transaction, clock: Clock, run: repo.InvoiceRunRow, prefix: string, priced: PricedStudent[]): Promise<void> {
  // The versions were locked before their prices were read (generate); nothing to lock again here.
  const now = clock.now();
  const inserted = await repo.insertInvoices(
    trx,
    run,
    now,
    priced.map((p) => ({
      personId: p.student.person_id,
      classId: p.student.class_id,
      versionId: p.versionId,
      totalVnd: p.invoice.totalVnd,
      paymentCode: newPaymentCode(prefix),
      payToken: randomBytes(24).toString('base64url'),
    })),
  );
  const invoiceOf = new Map(inserted.map((r) => [r.person_id, r.id]));
  await repo.insertLines(
    trx,
    run.school_id,
    priced.flatMap((p) => {
      const invoiceId = invoiceOf.get(p.student.person_id);
      if (!invoiceId) return []; // generated before: nothing new
      return p.invoice.lines.map((l, n) => ({ invoiceId, lineNo: n + 1, ...l }));
    }),
  );
}

async function writeBatch(db: Knex, clock: Clock, run: repo.InvoiceRunRow, prefix: string, priced: PricedStudent[]): Promise<StudentFailure[]> {
  if (priced.length === 0) return [];
  // A random payment code can collide with an existing one; new codes on retry fix that.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await db.transaction((trx) => insertPriced(trx, clock, run, prefix, priced));
      return [];
    } catch (e) {
      if (!isUniqueViolation(e, 'invoices_school_id_payment_code_key')) break;
    }
  }
  // Isolate the faulty student: write one at a time.
  const failures: StudentFailure[] = [];
  for (const p of priced) {
    try {
      await db.transaction((trx) => insertPriced(trx, clock, run, prefix, [p]));
    } catch {
      failures.push({ student_id: p.student.person_id, code: 'WRITE_FAILED', message: 'The invoice could not be written; starting the run again retries it.' });
    }
  }
  return failures;
}

/**
 * Revenue is recognized when an invoice is issued: the student owes the total (receivable, debit)
 * and each fee item earns its net (revenue, credit). Voiding posts the mirror image.
 */
function invoiceJournal(kind: 'invoice_issued' | 'invoice_voided', invoice: { school_id: string; id: string; person_id: string; total_vnd: string }, lines: { fee_item_id: string; total_vnd: string }[], at: Date): JournalInput {
  const sign = kind === 'invoice_issued' ? 1 : -1;
  const byItem = new Map<string, number>();
  for (const l of lines) byItem.set(l.fee_item_id, (byItem.get(l.fee_item_id) ?? 0) + parseVnd(l.total_vnd));
  return {
    schoolId: invoice.school_id,
    kind,
    referenceType: 'invoice',
    referenceId: invoice.id,
    at,
    entries: [
      { accountKind: 'receivable', accountKey: invoice.person_id, amountVnd: sign * parseVnd(invoice.total_vnd) },
      ...[...byItem].map(([feeItemId, net]) => ({ accountKind: 'revenue' as const, accountKey: feeItemId, amountVnd: -sign * net })),
    ],
  };
}

async function linesOf(db: Knex | Knex.Transaction, schoolId: string, invoiceIds: string[]): Promise<Map<string, { fee_item_id: string; total_vnd: string }[]>> {
  // One array parameter, not one parameter per id: a run may hold more ids than PostgreSQL's 65,535 bind limit.
  const rows = await db('invoice_lines').where({ school_id: schoolId }).whereRaw('invoice_id = ANY(?::text[])', [invoiceIds]).select<{ invoice_id: string; fee_item_id: string; total_vnd: string }[]>('invoice_id', 'fee_item_id', 'total_vnd');
  const map = new Map<string, { fee_item_id: string; total_vnd: string }[]>();
  for (const r of rows) map.set(r.invoice_id, [...(map.get(r.invoice_id) ?? []), r]);
  return map;
}

function invoiceSeries(now: Date): string {
  return `HD-${vietnamYear(now)}`;
}

export async function loadInvoiceInScope(db: Knex | Knex.Transaction, principal: Principal, invoiceId: string, forUpdate = false): Promise<repo.InvoiceRow> {
  const invoice = await repo.findInvoiceById(db, invoiceId, forUpdate);
  if (!invoice) throw new NotFoundError('INVOICE_NOT_FOUND', 'No such invoice.', 'invoice_id');
  // A verified guardian sees their ward's issued invoices (never drafts); staff-only actions check roles after this.
  if (invoice.status !== 'draft' && isGuardianOf(principal, invoice.person_id)) return invoice;
  try {
    await requireSchoolInScope(db, principal, invoice.school_id);
  } catch {
    throw new NotFoundError('INVOICE_NOT_FOUND', 'No such invoice.', 'invoice_id');
  }
  return invoice;
}

/** A draft becomes open and takes the next gap-free number of its school's series for the year. */
export async function issueInvoice(ctx: InvoiceContext, invoiceId: string): Promise<repo.InvoiceRow> {
  const now = ctx.clock.now();
  const issued = await ctx.db.transaction(async (trx) => {
    const invoice = await loadInvoiceInScope(trx, ctx.principal, invoiceId, true);
    await requireSchoolRole(trx, ctx.principal, invoice.school_id, [...STAFF]);
    if (invoice.status !== 'draft') throw new ConflictError('INVOICE_NOT_DRAFT', `Only a draft can be issued; this invoice is ${invoice.status}.`);
    const series = invoiceSeries(now);
    const number = await repo.takeNumbers(trx, invoice.school_id, series, 1);
    // Nothing is due on a fully exempt invoice: it is issued as paid.
    const status = parseVnd(invoice.total_vnd) === 0 ? 'paid' : 'open';
    await trx('invoices').where({ school_id: invoice.school_id, id: invoiceId }).update({ status, series, number, issued_at: now });
    const lines = await linesOf(trx, invoice.school_id, [invoiceId]);
    await postJournals(trx, [invoiceJournal('invoice_issued', invoice, lines.get(invoiceId) ?? [], now)]);
    // A student's credit (an earlier overpayment) pays the new invoice at once.
    await applyStudentCredit(trx, invoice.school_id, [invoice.person_id], now);
    await recordAuditEvent(trx, { schoolId: invoice.school_id, actorPersonId: ctx.principal.personId, action: 'invoice.issued', subjectType: 'invoice', subjectId: invoiceId, details: { series, number }, requestId: ctx.requestId, at: now });
    return (await repo.findInvoiceById(trx, invoiceId))!;
  });
  await sweepCredit(ctx, issued.school_id, [issued.person_id], now);
  return (await repo.findInvoiceById(ctx.db, invoiceId))!;
}

/**
 * After an issue commits: a payment that landed while the invoices were being issued found them
 * still drafts and put its money on the student's credit, after the issuing transaction had
 * applied credit. Applying credit again now pays the new invoices with it at once, not at the next
 * issue. Nothing happens for students without credit.
 */
async function sweepCredit(ctx: InvoiceContext, schoolId: string, personIds: string[], now: Date): Promise<void> {
  await ctx.db.transaction((trx) => applyStudentCredit(trx, schoolId, personIds, now));
}

/** Issues every draft of a run in one transaction: consecutive numbers, in class and student order. */
export async function issueRunInvoices(ctx: InvoiceContext, schoolId: string, runId: string): Promise<{ issued: number; first_number: number | null; last_number: number | null; series: string }> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const now = ctx.clock.now();
  const series = invoiceSeries(now);
  const issued = await ctx.db.transaction(async (trx) => {
    const run = await repo.findRun(trx, schoolId, runId);
    if (!run) throw new NotFoundError('INVOICE_RUN_NOT_FOUND', 'No such invoice run at this school.', 'run_id');
    if (run.status !== 'succeeded') throw new ConflictError('INVOICE_RUN_NOT_FINISHED', 'Wait for the run to finish before issuing its invoices.');
    const drafts = await trx('invoices as i')
      .join('people as p', 'p.id', 'i.person_id')
      .join('classes as c', (j) => j.on('c.school_id', '=', 'i.school_id').andOn('c.id', '=', 'i.class_id'))
      .where({ 'i.school_id': schoolId, 'i.run_id': runId, 'i.status': 'draft' })
      .orderBy([{ column: 'c.grade' }, { column: 'c.name' }, { column: 'p.full_name' }, { column: 'i.id' }])
      .forUpdate('i')
      .select<{ id: string; school_id: string; person_id: string; total_vnd: string }[]>('i.id', 'i.school_id', 'i.person_id', 'i.total_vnd');
    if (drafts.length === 0) return { issued: 0, first_number: null, last_number: null, series, personIds: [] as string[] };
    const first = await repo.takeNumbers(trx, schoolId, series, drafts.length);
    await trx.raw(
      `UPDATE invoices i SET status = CASE WHEN i.total_vnd = 0 THEN 'paid' ELSE 'open' END, series = ?, number = u.number, issued_at = ?
       FROM unnest(?::text[], ?::int[]) AS u(id, number) WHERE i.school_id = ? AND i.id = u.id`,
      [series, now, drafts.map((d) => d.id), drafts.map((_, n) => first + n), schoolId],
    );
    const lines = await linesOf(trx, schoolId, drafts.map((d) => d.id));
    await postJournals(trx, drafts.map((d) => invoiceJournal('invoice_issued', d, lines.get(d.id) ?? [], now)));
    await applyStudentCredit(trx, schoolId, drafts.map((d) => d.person_id), now);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'invoice_run.issued', subjectType: 'invoice_run', subjectId: runId, details: { series, first, count: drafts.length }, requestId: ctx.requestId, at: now });
    return { issued: drafts.length, first_number: first, last_number: first + drafts.length - 1, series, personIds: drafts.map((d) => d.person_id) };
  });
  const { personIds, ...result } = issued;
  if (personIds.length > 0) await sweepCredit(ctx, schoolId, personIds, now);
  return result;
}

/** Voids an invoice with a reason, only while nothing has been paid on it; its number stays used. */
export async function voidInvoice(ctx: InvoiceContext, invoiceId: string, reason: string): Promise<repo.InvoiceRow> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const invoice = await loadInvoiceInScope(trx, ctx.principal, invoiceId, true);
    await requireSchoolRole(trx, ctx.principal, invoice.school_id, [...STAFF]);
    if (!['draft', 'open'].includes(invoice.status) || parseVnd(invoice.paid_vnd) > 0 || parseVnd(invoice.credited_vnd) > 0) {
      throw new ConflictError('INVOICE_NOT_VOIDABLE', `An invoice that is ${invoice.status}, has payments or has credit notes cannot be voided.`);
    }
    await trx('invoices').where({ school_id: invoice.school_id, id: invoiceId }).update({ status: 'void', voided_at: now, void_reason: reason });
    if (invoice.status === 'open') {
      const lines = await linesOf(trx, invoice.school_id, [invoiceId]);
      await postJournals(trx, [invoiceJournal('invoice_voided', invoice, lines.get(invoiceId) ?? [], now)]);
    }
    await recordAuditEvent(trx, { schoolId: invoice.school_id, actorPersonId: ctx.principal.personId, action: 'invoice.voided', subjectType: 'invoice', subjectId: invoiceId, details: { reason }, requestId: ctx.requestId, at: now });
    return (await repo.findInvoiceById(trx, invoiceId))!;
  });
}

export interface InvoiceView {
  invoice: repo.InvoiceRow;
  lines: repo.InvoiceLineRow[];
  student: { full_name: string; personal_id: string; class_name: string };
  school: { name: string; address: string };
  account: Awaited<ReturnType<typeof findDefaultCollectionAccount>>;
}

export async function loadInvoiceView(db: Knex, invoice: repo.InvoiceRow): Promise<InvoiceView> {
  // A student with a virtual account on the school's default account pays to it: the transfer names
  // them without any code (the payment code stays in the purpose all the same).
  const [lines, student, school, account, virtualAccount] = await Promise.all([
    repo.listLines(db, invoice.school_id, invoice.id),
    repo.findStudentSummary(db, invoice.school_id, invoice.person_id, invoice.class_id),
    db('schools').where({ id: invoice.school_id }).first<{ name: string; address: string }>('name', 'address'),
    findDefaultCollectionAccount(db, invoice.school_id),
    db('virtual_accounts as v')
      .join('collection_accounts as a', (j) => j.on('a.school_id', '=', 'v.school_id').andOn('a.id', '=', 'v.collection_account_id'))
      .where({ 'v.school_id': invoice.school_id, 'v.person_id': invoice.person_id, 'a.is_default': true })
      .first<{ number: string } | undefined>('v.number'),
  ]);
  return { invoice, lines, student: student!, school, account: account && virtualAccount ? { ...account, account_number: virtualAccount.number } : account };
}

export async function getInvoice(ctx: Pick<InvoiceContext, 'db' | 'principal'>, invoiceId: string): Promise<InvoiceView> {
  return loadInvoiceView(ctx.db, await loadInvoiceInScope(ctx.db, ctx.principal, invoiceId));
}

export async function listInvoices(ctx: Pick<InvoiceContext, 'db' | 'principal'>, schoolId: string, filter: { status?: string; classId?: string; studentId?: string; runId?: string }, page: { limit: number; startingAfter?: string }): Promise<Page<repo.InvoiceRow>> {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  return toPage(await repo.listInvoices(ctx.db, schoolId, filter, page), page.limit);
}

/** The parent's page: an open (or settled) invoice by its unguessable token; drafts stay hidden. */
export async function findInvoiceForPayPage(db: Knex, token: string): Promise<InvoiceView | null> {
  if (!/^[A-Za-z0-9_-]{22,64}$/.test(token)) return null;
  const invoice = await repo.findInvoiceByPayToken(db, token);
  if (!invoice || invoice.status === 'draft') return null;
  return loadInvoiceView(db, invoice);
}

/** A student's account at a school: issued invoices (not drafts), billed, paid and balance. */
export async function getStatement(ctx: InvoiceContext, schoolId: string, studentId: string) {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const statement = await buildStatement(ctx.db, ctx.clock, schoolId, studentId);
  // A student's account is personal data: staff reads are audited (a guardian's own reads are not).
  await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'student.statement_viewed', subjectType: 'person', subjectId: studentId, requestId: ctx.requestId, at: ctx.clock.now() });
  return statement;
}

/** The statement itself, for callers that checked access (staff above, a verified guardian in `guardians`). */
export async function buildStatement(db: Knex, clock: Clock, schoolId: string, studentId: string) {
  const ctx = { db, clock };
  const invoices = await ctx.db('invoices').where({ school_id: schoolId, person_id: studentId }).whereNot({ status: 'draft' }).orderBy([{ column: 'period_start' }, { column: 'id' }]).select<repo.InvoiceRow[]>('*');
  const enrolled = await ctx.db('enrollments').where({ school_id: schoolId, person_id: studentId }).first('id');
  if (!enrolled) throw new NotFoundError('STUDENT_NOT_FOUND', 'No such student at this school.', 'student_id');
  const live = invoices.filter((i) => i.status !== 'void');
  // Billed is what the invoices ask: their totals less credit notes.
  const billed = live.reduce((s, i) => s + parseVnd(i.total_vnd) - parseVnd(i.credited_vnd), 0);
  const paid = live.reduce((s, i) => s + parseVnd(i.paid_vnd), 0);
  return { school_id: schoolId, student_id: studentId, as_of: vietnamDate(ctx.clock.now()), invoices, billed_vnd: billed, paid_vnd: paid, balance_vnd: billed - paid };
}
