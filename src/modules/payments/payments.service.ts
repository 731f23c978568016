import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Db } from '../../db/knex';
import { AppError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { findPaymentCodes } from '../../lib/payment-code';
import { isUniqueViolation } from '../../lib/pg-errors';
import { maskPersonalIdsInText } from '../../lib/personal-id';
import type { InboundRequest, NormalizedTransfer, Outcome, Provider } from '../../integrations/banks/bank-adapter';
import { BANK_ADAPTERS } from '../../integrations/banks';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { type EntryInput, postJournals } from '../ledger/ledger.service';

/**
 * Payments from bank notifications. Order of work (DESIGN.md 5, STYLE.md 7-9):
 * 1. verify the signature on the raw request with the endpoint's secret (nothing stored if bad);
 * 2. store the event verbatim, unique per (school, provider, external id), with the reply we give;
 * 3. process it in its own transaction (repeatable): record the payment once, allocate it to the
 *    student's open invoices oldest due first, put any surplus on the student's credit, or the
 *    whole amount in suspense with an exception when it cannot be attributed; post the journal.
 * A replay gets the stored reply and records nothing.
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

export interface EventRow {
  id: string;
  school_id: string;
  endpoint_id: string;
  provider: Provider;
  external_id: string;
  amount_vnd: string;
  status: 'received' | 'processed' | 'ignored';
  transfer: NormalizedTransfer;
  response_status: number;
  response_body: unknown;
}

export interface Reply {
  status: number;
  body: unknown;
}

/** VNPay's IPN is an order confirmation: the reply depends on the invoice it names. */
async function vnpayOutcome(db: Db, schoolId: string, transfer: NormalizedTransfer): Promise<Outcome> {
  const invoice = transfer.paymentCodeHint
    ? await db('invoices').where({ school_id: schoolId, payment_code: transfer.paymentCodeHint.toUpperCase() }).whereNot({ status: 'draft' }).first<{ status: string; total_vnd: string; paid_vnd: string } | undefined>()
    : undefined;
  if (!invoice) return 'order_not_found';
  if (invoice.status === 'paid') return 'already_confirmed';
  if (parseVnd(invoice.total_vnd) - parseVnd(invoice.paid_vnd) !== transfer.amountVnd) return 'invalid_amount';
  // A failed VNPay transaction is still confirmed as received; it simply records no payment.
  return 'accepted';
}

/** Takes a provider's notification from the wire to a stored (and, when possible, processed) event. */
export async function receiveBankNotification(deps: PaymentDeps, provider: Provider, endpointId: string, req: InboundRequest): Promise<Reply> {
  const adapter = BANK_ADAPTERS[provider];
  const now = deps.clock.now();
  const endpoint = await deps.db('bank_endpoints as e')
    .join('collection_accounts as a', (j) => j.on('a.school_id', '=', 'e.school_id').andOn('a.id', '=', 'e.collection_account_id'))
    .where({ 'e.id': endpointId, 'e.provider': provider })
    .first<EndpointRow | undefined>('e.id', 'e.school_id', 'e.provider', 'e.secret', 'e.collection_account_id', 'a.account_number');

  const verified = endpoint ? adapter.verify(req, endpoint.secret, now) : { ok: false as const, reason: 'unknown endpoint' };
  if (!verified.ok) {
    deps.logger.warn({ provider, endpoint_id: endpointId, reason: verified.reason }, 'bank notification rejected');
    return adapter.respond('invalid_signature');
  }
  const parsed = adapter.parse(req);
  if (!parsed.ok) {
    deps.logger.warn({ provider, endpoint_id: endpointId, reason: maskPersonalIdsInText(parsed.reason), param: parsed.param }, 'bank notification malformed');
    return adapter.respond('malformed');
  }
  const transfer = parsed.transfer;
  const school = endpoint!.school_id;

  const outcome: Outcome = provider === 'vnpay' ? await vnpayOutcome(deps.db, school, transfer) : 'accepted';
  const reply = adapter.respond(outcome);
  // Money that arrived is never dropped: a successful VNPay payment whose order we refuse (already
  // paid, changed amount, unknown) goes to suspense with an exception, for the accountant to check
  // against VNPay. Only outgoing and failed transfers record no payment.
  const ignored = transfer.direction === 'out' || !transfer.succeeded;
  if (outcome !== 'accepted') (transfer as NormalizedTransfer & { toSuspense?: string }).toSuspense = `vnpay replied ${outcome}`;

  const inserted = await deps.db('bank_events')
    .insert({
      school_id: school,
      endpoint_id: endpointId,
      provider,
      external_id: transfer.externalId,
      amount_vnd: transfer.amountVnd,
      direction: transfer.direction,
      account_number: transfer.accountNumber,
      description: transfer.description,
      transfer: JSON.stringify(transfer),
      raw_headers: JSON.stringify(req.headers),
      raw_body: req.rawBody.toString('utf8'),
      raw_query: JSON.stringify(req.query),
      received_at: now,
      status: ignored ? 'ignored' : 'received',
      processed_at: ignored ? now : null,
      response_status: reply.status,
      response_body: JSON.stringify(reply.body),
    })
    .onConflict(['school_id', 'endpoint_id', 'external_id'])
    .ignore()
    .returning<{ id: string }[]>('id');

  if (inserted.length === 0) {
    const existing = await deps.db('bank_events').where({ school_id: school, endpoint_id: endpointId, external_id: transfer.externalId }).first<EventRow>();
    if (parseVnd(existing.amount_vnd) !== transfer.amountVnd) {
      await deps.db('payment_exceptions').insert({
        school_id: school,
        kind: 'external_id_amount_mismatch',
        bank_event_id: existing.id,
        amount_vnd: transfer.amountVnd,
        details: JSON.stringify({ stored_amount_vnd: parseVnd(existing.amount_vnd), replayed_amount_vnd: transfer.amountVnd }),
        created_at: now,
      });
      deps.logger.warn({ provider, event_id: existing.id }, 'bank notification replayed with a different amount');
      return { status: 409, body: { error: 'a notification with this id was received with a different amount' } };
    }
    return { status: existing.response_status, body: existing.response_body };
  }

  if (transfer.direction === 'out') {
    // The account's balance moved: reconciliation needs to know, an accountant should look.
    await deps.db('payment_exceptions').insert({ school_id: school, kind: 'outgoing_transfer', bank_event_id: inserted[0]!.id, amount_vnd: transfer.amountVnd, details: JSON.stringify({ description: transfer.description.slice(0, 500) }), created_at: now });
  }
  if (!ignored) {
    try {
      await processBankEvent(deps, school, inserted[0]!.id);
    } catch (err) {
      // The event is stored and acknowledged; processing is retried from the stored row.
      deps.logger.error({ event_id: inserted[0]!.id, err: err instanceof Error ? err.message : String(err) }, 'bank event processing failed');
    }
  }
  return reply;
}

interface OpenInvoice {
  id: string;
  total_vnd: string;
  paid_vnd: string;
}

/** Allocates an amount to invoices in order; returns the allocations and what is left over. */
export function allocateOldestFirst(amountVnd: number, invoices: OpenInvoice[]): { allocations: { invoiceId: string; amountVnd: number }[]; leftoverVnd: number } {
  let remaining = amountVnd;
  const allocations: { invoiceId: string; amountVnd: number }[] = [];
  for (const inv of invoices) {
    if (remaining === 0) break;
    const due = parseVnd(inv.total_vnd) - parseVnd(inv.paid_vnd);
    const take = Math.min(due, remaining);
    if (take > 0) {
      allocations.push({ invoiceId: inv.id, amountVnd: take });
      remaining -= take;
    }
  }
  return { allocations, leftoverVnd: remaining };
}

/** Paid amounts and statuses are derived from allocation rows, in the same transaction. */
export async function rederiveInvoices(trx: Knex.Transaction, schoolId: string, invoiceIds: string[]): Promise<void> {
  if (invoiceIds.length === 0) return;
  await trx.raw(
    `UPDATE invoices i SET
       paid_vnd = a.paid,
       status = CASE WHEN a.paid = 0 THEN 'open' WHEN a.paid < i.total_vnd THEN 'partially_paid' ELSE 'paid' END
     FROM (SELECT invoice_id, coalesce(sum(amount_vnd), 0) AS paid FROM allocations WHERE school_id = ? AND invoice_id = ANY(?::text[]) GROUP BY invoice_id) a
     WHERE i.school_id = ? AND i.id = a.invoice_id AND i.status <> 'void'`,
    [schoolId, invoiceIds, schoolId],
  );
}

/**
 * Serializes money movements of one student (payments, credit use), so two transactions can never
 * both spend the same credit or both fill the same invoice. Taken in person-id order.
 */
export async function lockStudentMoney(trx: Knex.Transaction, schoolId: string, personIds: string[]): Promise<void> {
  for (const personId of [...new Set(personIds)].sort()) {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`student-money:${schoolId}:${personId}`]);
  }
}

async function lockOpenInvoices(trx: Knex.Transaction, schoolId: string, personId: string): Promise<OpenInvoice[]> {
  return trx('invoices')
    .where({ school_id: schoolId, person_id: personId })
    .whereIn('status', ['open', 'partially_paid'])
    .orderBy([{ column: 'due_on' }, { column: 'number' }, { column: 'id' }])
    .forUpdate()
    .select<OpenInvoice[]>('id', 'total_vnd', 'paid_vnd');
}

/**
 * Pays a student's open invoices from a payment, oldest due first (the `firstInvoiceIds` first),
 * inside the caller's transaction; what is left over is the caller's to put on credit.
 */
async function allocateToStudent(trx: Knex.Transaction, schoolId: string, personId: string, amountVnd: number, paymentId: string, at: Date, firstInvoiceIds: string[] = []): Promise<{ allocated: number; leftoverVnd: number }> {
  await lockStudentMoney(trx, schoolId, [personId]);
  const open = await lockOpenInvoices(trx, schoolId, personId);
  const ordered = [...firstInvoiceIds.flatMap((id) => open.filter((o) => o.id === id)), ...open.filter((o) => !firstInvoiceIds.includes(o.id))];
  const { allocations, leftoverVnd } = allocateOldestFirst(amountVnd, ordered);
  if (allocations.length > 0) {
    await trx('allocations').insert(allocations.map((a) => ({ school_id: schoolId, invoice_id: a.invoiceId, payment_id: paymentId, source: 'payment', amount_vnd: a.amountVnd, created_at: at })));
    await rederiveInvoices(trx, schoolId, allocations.map((a) => a.invoiceId));
  }
  return { allocated: amountVnd - leftoverVnd, leftoverVnd };
}

async function findInvoiceByCode(db: Db, schoolId: string, paymentCode: string): Promise<{ id: string; person_id: string; payment_code: string } | undefined> {
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
      if (!exception.payment_id || !['unattributed', 'unknown_account'].includes(exception.kind)) {
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

/** Processes one stored event (repeatable: an event already processed is left alone). */
export async function processBankEvent(deps: Pick<PaymentDeps, 'db' | 'clock'>, schoolId: string, eventId: string): Promise<void> {
  const now = deps.clock.now();
  await deps.db.transaction(async (trx) => {
    const event = await trx('bank_events').where({ school_id: schoolId, id: eventId }).forUpdate().first<EventRow | undefined>();
    if (!event || event.status !== 'received') return;
    const transfer = event.transfer;
    const endpoint = await trx('bank_endpoints as e')
      .join('collection_accounts as a', (j) => j.on('a.school_id', '=', 'e.school_id').andOn('a.id', '=', 'e.collection_account_id'))
      .where({ 'e.school_id': schoolId, 'e.id': event.endpoint_id })
      .first<EndpointRow>('e.collection_account_id', 'a.account_number');
    // VNPay pays the merchant, not an account number; others must name the endpoint's account.
    const accountKnown = event.provider === 'vnpay' || transfer.accountNumber === endpoint.account_number;

    const codes = [...(transfer.paymentCodeHint ? [transfer.paymentCodeHint.toUpperCase()] : []), ...findPaymentCodes(transfer.description)];
    const toSuspense = (transfer as NormalizedTransfer & { toSuspense?: string }).toSuspense;
    const invoice = accountKnown && codes.length > 0 && !toSuspense
      ? await trx('invoices').where({ school_id: schoolId }).whereIn('payment_code', codes).whereNot({ status: 'draft' }).orderByRaw('array_position(?::text[], payment_code::text)', [codes]).first<{ id: string; person_id: string; payment_code: string } | undefined>('id', 'person_id', 'payment_code')
      : undefined;

    const [payment] = await trx('payments')
      .insert({
        school_id: schoolId,
        bank_event_id: event.id,
        provider: event.provider,
        collection_account_id: accountKnown ? endpoint.collection_account_id : null,
        person_id: invoice?.person_id ?? null,
        payment_code: invoice?.payment_code ?? null,
        amount_vnd: transfer.amountVnd,
        status: invoice ? 'attributed' : 'unattributed',
        occurred_at: transfer.occurredAt,
        recorded_at: now,
      })
      .returning<{ id: string }[]>('id');
    const paymentId = payment!.id;
    const clearing: EntryInput = { accountKind: 'bank_clearing', accountKey: accountKnown ? endpoint.collection_account_id : `unknown:${transfer.accountNumber}`, amountVnd: transfer.amountVnd };

    if (invoice) {
      // Oldest due first; but a VNPay IPN confirms one order, whose amount was checked against that
      // invoice, so the named invoice is paid first.
      // A VNPay order or a bill payment names the invoices it pays; they come first.
      const named = (transfer as NormalizedTransfer & { invoiceIds?: string[] }).invoiceIds ?? (event.provider === 'vnpay' ? [invoice.id] : []);
      const { allocated, leftoverVnd } = await allocateToStudent(trx, schoolId, invoice.person_id, transfer.amountVnd, paymentId, now, named);
      await postJournals(trx, [{
        schoolId, kind: 'payment_received', referenceType: 'payment', referenceId: paymentId, at: now,
        entries: [clearing, { accountKind: 'receivable', accountKey: invoice.person_id, amountVnd: -allocated }, { accountKind: 'credit', accountKey: invoice.person_id, amountVnd: -leftoverVnd }],
      }]);
    } else {
      await postJournals(trx, [{ schoolId, kind: 'payment_received', referenceType: 'payment', referenceId: paymentId, at: now, entries: [clearing, { accountKind: 'suspense', accountKey: '', amountVnd: -transfer.amountVnd }] }]);
      await trx('payment_exceptions').insert({
        school_id: schoolId,
        kind: accountKnown ? 'unattributed' : 'unknown_account',
        bank_event_id: event.id,
        payment_id: paymentId,
        amount_vnd: transfer.amountVnd,
        details: JSON.stringify({ description: transfer.description.slice(0, 500), account_number: transfer.accountNumber, codes_found: codes, ...(toSuspense ? { note: toSuspense } : {}) }),
        created_at: now,
      });
    }
    await trx('bank_events').where({ school_id: schoolId, id: event.id }).update({ status: 'processed', processed_at: now });
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
  for (const credit of credits) {
    const open = await lockOpenInvoices(trx, schoolId, credit.account_key);
    const { allocations } = allocateOldestFirst(-parseVnd(credit.sum), open);
    if (allocations.length === 0) continue;
    const rows = await trx('allocations')
      .insert(allocations.map((a) => ({ school_id: schoolId, invoice_id: a.invoiceId, payment_id: null, source: 'credit', amount_vnd: a.amountVnd, created_at: at })))
      .returning<{ id: string; invoice_id: string; amount_vnd: string }[]>(['id', 'invoice_id', 'amount_vnd']);
    await rederiveInvoices(trx, schoolId, allocations.map((a) => a.invoiceId));
    await postJournals(trx, rows.map((r) => ({
      schoolId, kind: 'credit_applied' as const, referenceType: 'allocation', referenceId: r.id, at,
      entries: [{ accountKind: 'credit' as const, accountKey: credit.account_key, amountVnd: parseVnd(r.amount_vnd) }, { accountKind: 'receivable' as const, accountKey: credit.account_key, amountVnd: -parseVnd(r.amount_vnd) }],
    })));
  }
}

/** Re-processes events that were stored but not processed (a crash between the two steps). */
export async function processPendingBankEvents(deps: Pick<PaymentDeps, 'db' | 'clock'>): Promise<number> {
  const pending = await deps.db('bank_events').where({ status: 'received' }).orderBy('received_at').limit(1000).select<{ school_id: string; id: string }[]>('school_id', 'id');
  let processed = 0;
  for (const e of pending) {
    // One event that keeps failing must not hold back the others; it stays 'received' for next time.
    try {
      await processBankEvent(deps, e.school_id, e.id);
      processed++;
    } catch {
      continue;
    }
  }
  return processed;
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
  const q = ctx.db('payments').where({ school_id: schoolId });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return toPage(await q.orderBy('id').limit(page.limit + 1).select(), page.limit);
}

export async function listPaymentExceptions(ctx: { db: Knex; principal: Principal }, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<Page<Record<string, unknown>>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const q = ctx.db('payment_exceptions').where({ school_id: schoolId });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return toPage(await q.orderBy('id').limit(page.limit + 1).select(), page.limit);
}

