import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Db } from '../../db/knex';
import type { Fragment } from '../../db/unnest';
import { AppError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { isUniqueViolation } from '../../lib/pg-errors';
import type { Provider } from '../../integrations/banks/bank-adapter';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { accountBalance, postJournals } from '../ledger/ledger.service';

/**
 * The money helpers every payment path shares (set-based: student money locks, open invoices,
 * allocation, derived paid amounts), staff operations on payments (manual payments, resolving
 * exceptions), credit applied at issue, bank endpoints and the lists. Bank notifications
 * themselves go through bank-inbox.ts and bank-events.service.ts.
 */
export interface PaymentDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
}

export interface EndpointRow {
  id: string;
  school_id: string;
  provider: Provider;
  secret: string;
  collection_account_id: string;
  account_number: string;
}

export interface Reply {
  status: number;
  body: unknown;
}

/** An invoice that still has something due, in the order it is to be paid. */
export interface OpenInvoice {
  id: string;
  school_id: string;
  person_id: string;
  dueVnd: number;
}

/**
 * Allocates an amount to invoices in the order given, taking what each still owes; lowers their
 * `dueVnd` in place (so several payments of one batch see each other) and returns the allocations
 * and what is left over.
 */
export function allocateOldestFirst(amountVnd: number, invoices: OpenInvoice[]): { allocations: { invoiceId: string; amountVnd: number }[]; leftoverVnd: number } {
  let remaining = amountVnd;
  const allocations: { invoiceId: string; amountVnd: number }[] = [];
  for (const inv of invoices) {
    if (remaining === 0) break;
    const take = Math.min(inv.dueVnd, remaining);
    if (take > 0) {
      allocations.push({ invoiceId: inv.id, amountVnd: take });
      inv.dueVnd -= take;
      remaining -= take;
    }
  }
  return { allocations, leftoverVnd: remaining };
}

/** Puts the named invoices first (in the order named), then the rest in their given order. */
export function namedFirst(open: OpenInvoice[], firstInvoiceIds: string[]): OpenInvoice[] {
  return [...firstInvoiceIds.flatMap((id) => open.filter((o) => o.id === id)), ...open.filter((o) => !firstInvoiceIds.includes(o.id))];
}

export interface InvoiceRef {
  schoolId: string;
  invoiceId: string;
}

/** Paid amounts and statuses are derived from allocation rows, in the same transaction; one statement for any number of invoices. */
/**
 * An issued invoice's status from what is paid against what it asks (its total less credit notes):
 * paid when nothing is left to pay (also when credit notes took it all), open when nothing is paid.
 */
export const STATUS_FROM_PAID = (paid: string, credited = 'i.credited_vnd') => `CASE WHEN ${paid} >= i.total_vnd - (${credited}) THEN 'paid' WHEN ${paid} = 0 THEN 'open' ELSE 'partially_paid' END`;

export async function rederiveInvoiceSet(trx: Knex.Transaction, refs: InvoiceRef[]): Promise<void> {
  if (refs.length === 0) return;
  await trx.raw(
    `UPDATE invoices i SET
       paid_vnd = a.paid,
       status = ${STATUS_FROM_PAID('a.paid')}
     FROM (SELECT x.school_id, x.invoice_id, coalesce(sum(x.amount_vnd), 0) AS paid
           FROM allocations x JOIN (SELECT DISTINCT * FROM unnest(?::text[], ?::text[])) AS t(school_id, invoice_id)
             ON x.school_id = t.school_id AND x.invoice_id = t.invoice_id
           GROUP BY x.school_id, x.invoice_id) a
     WHERE i.school_id = a.school_id AND i.id = a.invoice_id AND i.status <> 'void'`,
    [refs.map((r) => r.schoolId), refs.map((r) => r.invoiceId)],
  );
}

export async function rederiveInvoices(trx: Knex.Transaction, schoolId: string, invoiceIds: string[]): Promise<void> {
  await rederiveInvoiceSet(trx, invoiceIds.map((invoiceId) => ({ schoolId, invoiceId })));
}

export interface StudentRef {
  schoolId: string;
  personId: string;
}

const moneyLockKey = (r: StudentRef) => `student-money:${r.schoolId}:${r.personId}`;

/**
 * Serializes money movements of a student (payments, credit use, reversals, corrections, credit
 * notes), so two transactions can never both spend the same credit or both fill the same invoice.
 * The locks are taken in one statement, in ascending order of the lock number itself (hashtext of
 * the key; keys that share a number share the lock), so two batches cannot deadlock on each other.
 */
export async function lockStudentsMoney(trx: Knex.Transaction, students: StudentRef[]): Promise<void> {
  const statement = moneyLocksStatement(students);
  if (statement) await trx.raw(statement.sql, statement.bindings);
}

/** The statement that takes the students' money locks (none when there are no students). */
export function moneyLocksStatement(students: StudentRef[]): Fragment | undefined {
  const keys = [...new Set(students.map(moneyLockKey))];
  if (keys.length === 0) return undefined;
  return { sql: 'SELECT pg_advisory_xact_lock(l.h) FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest(?::text[]) AS k ORDER BY 1) l', bindings: [keys] };
}

export async function lockStudentMoney(trx: Knex.Transaction, schoolId: string, personIds: string[]): Promise<void> {
  await lockStudentsMoney(trx, personIds.map((personId) => ({ schoolId, personId })));
}

/**
 * Takes the students' money locks, then locks their open invoices and returns them per student
 * (`school|person`), oldest due first. Two statements on purpose: a statement reads with the
 * snapshot taken when it starts, so invoices read in the statement that waited for the locks could
 * miss one that another student-lock holder reopened meanwhile (a reversal, a correction).
 */
export async function lockStudentsAndOpenInvoices(trx: Knex.Transaction, students: StudentRef[]): Promise<Map<string, OpenInvoice[]>> {
  await lockStudentsMoney(trx, students);
  return readOpenInvoicesForUpdate(trx, students);
}

/** The students' open invoices, locked, per student (`school|person`), oldest due first; the caller holds their money locks. */
async function readOpenInvoicesForUpdate(trx: Knex.Transaction, students: StudentRef[]): Promise<Map<string, OpenInvoice[]>> {
  if (students.length === 0) return new Map();
  const statement = openInvoicesStatement(students);
  const { rows } = await trx.raw<{ rows: OpenInvoiceRow[] }>(statement.sql, statement.bindings);
  return openInvoicesByStudent(rows);
}

export interface OpenInvoiceRow {
  id: string;
  school_id: string;
  person_id: string;
  total_vnd: string;
  credited_vnd: string;
  paid_vnd: string;
}

/** The statement that locks the students' open invoices and reads them, oldest due first (to be run after their money locks, as a statement of its own). */
export function openInvoicesStatement(students: StudentRef[]): Fragment {
  return {
    sql: `SELECT i.id, i.school_id, i.person_id, i.total_vnd, i.credited_vnd, i.paid_vnd
     FROM invoices i JOIN (SELECT DISTINCT * FROM unnest(?::text[], ?::text[])) AS t(school_id, person_id)
       ON i.school_id = t.school_id AND i.person_id = t.person_id
     WHERE i.status IN ('open', 'partially_paid')
     ORDER BY i.school_id, i.person_id, i.due_on, i.number, i.id
     FOR UPDATE OF i`,
    bindings: [students.map((s) => s.schoolId), students.map((s) => s.personId)],
  };
}

/** The rows of `openInvoicesStatement` per student (`school|person`), in their order. */
export function openInvoicesByStudent(rows: OpenInvoiceRow[]): Map<string, OpenInvoice[]> {
  const byStudent = new Map<string, OpenInvoice[]>();
  for (const r of rows) {
    const key = `${r.school_id}|${r.person_id}`;
    const list = byStudent.get(key) ?? [];
    list.push({ id: r.id, school_id: r.school_id, person_id: r.person_id, dueVnd: parseVnd(r.total_vnd) - parseVnd(r.credited_vnd) - parseVnd(r.paid_vnd) });
    byStudent.set(key, list);
  }
  return byStudent;
}

/**
 * What undoing a payment takes back from its current owner, inside the caller's transaction and
 * under the owner's money lock. On each of the owner's invoices the payment's rows are brought to
 * zero (a negative row of what they net to); when a credit note has moved part of that money to
 * the owner's credit (the invoice holds less than the payment's rows say), the invoice gives back
 * only what it holds and a `source: credit` row puts the difference back on it, so the invoice's
 * paid amount falls by exactly what it held of this payment; the rest of the amount comes from the
 * owner's credit, which must still hold it (`creditStillHeld`). The owner's invoices are locked
 * first, in id order. Returns the rows to insert.
 */
export async function unwindPayment(trx: Knex.Transaction, schoolId: string, paymentId: string, ownerId: string, amountVnd: number): Promise<{ rows: { invoice_id: string; payment_id: string | null; source: 'payment' | 'credit'; amount_vnd: number }[]; fromInvoicesVnd: number; fromCreditVnd: number; creditStillHeld: boolean }> {
  const paid = new Map(
    (await trx('invoices')
      .where({ school_id: schoolId, person_id: ownerId })
      .whereIn('id', trx('allocations').where({ school_id: schoolId, payment_id: paymentId }).distinct('invoice_id'))
      .orderBy('id')
      .forUpdate()
      .select<{ id: string; paid_vnd: string }[]>('id', 'paid_vnd')).map((i) => [i.id, parseVnd(i.paid_vnd)]),
  );
  const net = await trx('allocations')
    .where({ school_id: schoolId, payment_id: paymentId })
    .whereIn('invoice_id', [...paid.keys()])
    .groupBy('invoice_id')
    .havingRaw('sum(amount_vnd) > 0')
    .orderBy('invoice_id')
    .select<{ invoice_id: string; net: string }[]>('invoice_id', trx.raw('sum(amount_vnd) AS net'));
  const rows: { invoice_id: string; payment_id: string | null; source: 'payment' | 'credit'; amount_vnd: number }[] = [];
  let fromInvoicesVnd = 0;
  for (const n of net) {
    const onInvoice = parseVnd(n.net);
    const held = Math.min(onInvoice, paid.get(n.invoice_id) ?? 0);
    rows.push({ invoice_id: n.invoice_id, payment_id: paymentId, source: 'payment', amount_vnd: -onInvoice });
    if (held < onInvoice) rows.push({ invoice_id: n.invoice_id, payment_id: null, source: 'credit', amount_vnd: onInvoice - held });
    fromInvoicesVnd += held;
  }
  if (fromInvoicesVnd > amountVnd) throw new AppError(409, 'conflict_error', 'PAYMENT_NOT_UNWINDABLE', 'The payment\'s allocations do not add up to its amount; the school must look at it.');
  const fromCreditVnd = amountVnd - fromInvoicesVnd;
  // Credit is a liability: its balance is zero or below in debit-positive terms.
  const creditStillHeld = fromCreditVnd === 0 || -(await accountBalance(trx, schoolId, 'credit', ownerId)) >= fromCreditVnd;
  return { rows, fromInvoicesVnd, fromCreditVnd, creditStillHeld };
}

/**
 * Pays a student's open invoices from a payment, oldest due first (the `firstInvoiceIds` first),
 * inside the caller's transaction; what is left over is the caller's to put on credit.
 */
async function allocateToStudent(trx: Knex.Transaction, schoolId: string, personId: string, amountVnd: number, paymentId: string, at: Date, firstInvoiceIds: string[] = []): Promise<{ allocated: number; leftoverVnd: number }> {
  const open = (await lockStudentsAndOpenInvoices(trx, [{ schoolId, personId }])).get(`${schoolId}|${personId}`) ?? [];
  const { allocations, leftoverVnd } = allocateOldestFirst(amountVnd, namedFirst(open, firstInvoiceIds));
  if (allocations.length > 0) {
    await trx('allocations').insert(allocations.map((a) => ({ school_id: schoolId, invoice_id: a.invoiceId, payment_id: paymentId, source: 'payment', amount_vnd: a.amountVnd, created_at: at })));
    await rederiveInvoices(trx, schoolId, allocations.map((a) => a.invoiceId));
  }
  return { allocated: amountVnd - leftoverVnd, leftoverVnd };
}

export async function findInvoiceByCode(db: Db, schoolId: string, paymentCode: string): Promise<{ id: string; person_id: string; payment_code: string } | undefined> {
  return db('invoices').where({ school_id: schoolId, payment_code: paymentCode.toUpperCase() }).whereNot({ status: 'draft' }).first('id', 'person_id', 'payment_code');
}

const STAFF = ['accountant', 'school_admin'] as const;

/**
 * An accountant records money received outside the banks (exceptional cash), with a reason. It is
 * allocated like any payment; the cash account stands in for the bank clearing account.
 */
export async function recordManualPayment(ctx: { db: Knex; clock: Clock; principal: Principal; requestId?: string }, schoolId: string, input: { paymentCode: string; amountVnd: number; reason: string }): Promise<{ id: string }> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const invoice = await findInvoiceByCode(trx, schoolId, input.paymentCode);
    if (!invoice) throw new UnprocessableError('PAYMENT_CODE_UNKNOWN', 'No issued invoice of this school has this payment code.', 'payment_code');
    const [payment] = await trx('payments')
      .insert({ school_id: schoolId, bank_event_id: null, provider: 'manual', person_id: invoice.person_id, payment_code: invoice.payment_code, amount_vnd: input.amountVnd, status: 'attributed', occurred_at: now, recorded_at: now, recorded_by: ctx.principal.personId, reason: input.reason })
      .returning<{ id: string }[]>('id');
    const { allocated, leftoverVnd } = await allocateToStudent(trx, schoolId, invoice.person_id, input.amountVnd, payment!.id, now);
    await postJournals(trx, [{
      schoolId, kind: 'payment_received', referenceType: 'payment', referenceId: payment!.id, at: now, memo: input.reason,
      entries: [{ accountKind: 'bank_clearing', accountKey: 'cash', amountVnd: input.amountVnd }, { accountKind: 'receivable', accountKey: invoice.person_id, amountVnd: -allocated }, { accountKind: 'credit', accountKey: invoice.person_id, amountVnd: -leftoverVnd }],
    }]);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'payment.recorded_manually', subjectType: 'payment', subjectId: payment!.id, details: { amount_vnd: input.amountVnd, reason: input.reason }, requestId: ctx.requestId, at: now });
    return payment!;
  });
}

/**
 * An accountant resolves an exception with a reason: either attributes the suspended money to the
 * student of a payment code (it leaves suspense and pays their invoices, surplus to credit), or
 * closes it as handled outside the service (the money stays in suspense, visibly).
 */
export async function resolvePaymentException(
  ctx: { db: Knex; clock: Clock; principal: Principal; requestId?: string },
  schoolId: string,
  exceptionId: string,
  input: { paymentCode?: string; reason: string },
): Promise<Record<string, unknown>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const exception = await trx('payment_exceptions').where({ school_id: schoolId, id: exceptionId }).forUpdate().first<{ id: string; kind: string; status: string; payment_id: string | null; amount_vnd: string } | undefined>();
    if (!exception) throw new AppError(404, 'not_found_error', 'PAYMENT_EXCEPTION_NOT_FOUND', 'No such exception at this school.', { param: 'exception_id' });
    if (exception.status !== 'open') throw new AppError(409, 'conflict_error', 'PAYMENT_EXCEPTION_RESOLVED', 'This exception was already resolved.');
    let resolution: Record<string, unknown> = { action: 'closed', reason: input.reason };
    if (input.paymentCode) {
      if (!exception.payment_id || !['unattributed', 'unknown_account', 'bank_reference_mismatch'].includes(exception.kind)) {
        throw new AppError(409, 'conflict_error', 'PAYMENT_EXCEPTION_NOT_ATTRIBUTABLE', 'Only money held in suspense can be attributed to a student.', { param: 'payment_code' });
      }
      const invoice = await findInvoiceByCode(trx, schoolId, input.paymentCode);
      if (!invoice) throw new UnprocessableError('PAYMENT_CODE_UNKNOWN', 'No issued invoice of this school has this payment code.', 'payment_code');
      const amount = parseVnd(exception.amount_vnd);
      const { allocated, leftoverVnd } = await allocateToStudent(trx, schoolId, invoice.person_id, amount, exception.payment_id, now);
      await postJournals(trx, [{
        schoolId, kind: 'suspense_attributed', referenceType: 'payment_exception', referenceId: exception.id, at: now, memo: input.reason,
        entries: [{ accountKind: 'suspense', accountKey: '', amountVnd: amount }, { accountKind: 'receivable', accountKey: invoice.person_id, amountVnd: -allocated }, { accountKind: 'credit', accountKey: invoice.person_id, amountVnd: -leftoverVnd }],
      }]);
      resolution = { action: 'attributed', student_id: invoice.person_id, payment_code: invoice.payment_code, reason: input.reason };
    }
    const [row] = await trx('payment_exceptions')
      .where({ school_id: schoolId, id: exceptionId, status: 'open' })
      .update({ status: 'resolved', resolved_by: ctx.principal.personId, resolved_at: now, resolution: JSON.stringify(resolution) })
      .returning('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'payment_exception.resolved', subjectType: 'payment_exception', subjectId: exceptionId, details: resolution, requestId: ctx.requestId, at: now });
    return row;
  });
}

/**
 * Applies students' credit (overpayments) to their open invoices, oldest due first; called when
 * invoices are issued, inside the issuing transaction.
 */
export async function applyStudentCredit(trx: Knex.Transaction, schoolId: string, personIds: string[], at: Date): Promise<void> {
  if (personIds.length === 0) return;
  const withCredit = await trx('ledger_entries')
    .where({ school_id: schoolId, account_kind: 'credit' })
    .whereRaw('account_key = ANY(?::text[])', [[...new Set(personIds)]])
    .groupBy('account_key')
    .havingRaw('sum(amount_vnd) < 0')
    .pluck('account_key');
  if (withCredit.length === 0) return;
  await lockStudentMoney(trx, schoolId, withCredit);
  // Read again under the lock: a concurrent payment or issue may have moved the credit meanwhile.
  const credits = await trx('ledger_entries')
    .where({ school_id: schoolId, account_kind: 'credit' })
    .whereRaw('account_key = ANY(?::text[])', [withCredit])
    .groupBy('account_key')
    .havingRaw('sum(amount_vnd) < 0')
    .select<{ account_key: string; sum: string }[]>('account_key', trx.raw('sum(amount_vnd) AS sum'));
  const openByStudent = await readOpenInvoicesForUpdate(trx, credits.map((c) => ({ schoolId, personId: c.account_key })));
  const planned = credits.flatMap((credit) => allocateOldestFirst(-parseVnd(credit.sum), openByStudent.get(`${schoolId}|${credit.account_key}`) ?? []).allocations.map((a) => ({ personId: credit.account_key, ...a })));
  if (planned.length === 0) return;
  const personOf = new Map(planned.map((p) => [p.invoiceId, p.personId]));
  const rows = await trx('allocations')
    .insert(planned.map((a) => ({ school_id: schoolId, invoice_id: a.invoiceId, payment_id: null, source: 'credit', amount_vnd: a.amountVnd, created_at: at })))
    .returning<{ id: string; invoice_id: string; amount_vnd: string }[]>(['id', 'invoice_id', 'amount_vnd']);
  await rederiveInvoices(trx, schoolId, planned.map((a) => a.invoiceId));
  await postJournals(trx, rows.map((r) => ({
    schoolId, kind: 'credit_applied' as const, referenceType: 'allocation', referenceId: r.id, at,
    entries: [{ accountKind: 'credit' as const, accountKey: personOf.get(r.invoice_id)!, amountVnd: parseVnd(r.amount_vnd) }, { accountKind: 'receivable' as const, accountKey: personOf.get(r.invoice_id)!, amountVnd: -parseVnd(r.amount_vnd) }],
  })));
}

export interface EndpointView {
  id: string;
  school_id: string;
  provider: Provider | 'billpay';
  collection_account_id: string;
  created_at: Date;
}

/** A school admin opens a callback endpoint for a provider and account; the secret is shown once. */
export async function createBankEndpoint(ctx: { db: Knex; clock: Clock; principal: Principal }, schoolId: string, input: { provider: Provider | 'billpay'; collectionAccountId: string }): Promise<EndpointView & { secret: string }> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  const account = await ctx.db('collection_accounts').where({ school_id: schoolId, id: input.collectionAccountId }).first('id');
  if (!account) throw new UnprocessableError('COLLECTION_ACCOUNT_NOT_FOUND', 'No such collection account at this school.', 'collection_account_id');
  // Standard Webhooks secrets for direct partners and bill-payment banks; random keys otherwise.
  const secret = input.provider === 'direct' || input.provider === 'billpay' ? `whsec_${randomBytes(32).toString('base64')}` : randomBytes(32).toString('hex');
  try {
    const [row] = await ctx.db('bank_endpoints')
      .insert({ school_id: schoolId, provider: input.provider, collection_account_id: input.collectionAccountId, secret, created_at: ctx.clock.now() })
      .returning<(EndpointView & { secret: string })[]>(['id', 'school_id', 'provider', 'collection_account_id', 'created_at', 'secret']);
    await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'bank_endpoint.created', subjectType: 'bank_endpoint', subjectId: row!.id, details: { provider: input.provider }, at: ctx.clock.now() });
    return row!;
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError(409, 'conflict_error', 'BANK_ENDPOINT_EXISTS', 'This account already has an endpoint for this provider.', { param: 'provider' });
    throw e;
  }
}

export async function listPayments(ctx: { db: Knex; principal: Principal }, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<Page<Record<string, unknown>>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const q = ctx.db('payments as p').where({ 'p.school_id': schoolId });
  if (page.startingAfter) q.where('p.id', '>', page.startingAfter);
  // Whose the payment is now: the latest correction's student, else the one it was recorded for.
  const current = ctx.db.raw(`coalesce((SELECT c.to_person_id FROM payment_corrections c WHERE c.school_id = p.school_id AND c.payment_id = p.id ORDER BY c.correction_no DESC LIMIT 1), p.person_id) AS person_id`);
  return toPage(await q.orderBy('p.id').limit(page.limit + 1).select('p.*', current), page.limit);
}

export async function listPaymentExceptions(ctx: { db: Knex; principal: Principal }, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<Page<Record<string, unknown>>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const q = ctx.db('payment_exceptions').where({ school_id: schoolId });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return toPage(await q.orderBy('id').limit(page.limit + 1).select(), page.limit);
}

