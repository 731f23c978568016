import type { Knex } from 'knex';
import { z } from 'zod';
import { directAdapter } from '../../integrations/banks/direct';
import type { InboundRequest, NormalizedTransfer } from '../../integrations/banks/bank-adapter';
import { vietnamDate } from '../../lib/clock';
import { isId } from '../../lib/ids';
import { parseVnd } from '../../lib/money';
import { maskPersonalId } from '../../lib/personal-id';
import { postJournals } from '../ledger/ledger.service';
import { MAX_AMOUNT_VND } from '../fees/fees.schemas';
import { processBankEvent } from './bank-events.service';
import { applyStudentCredit, type EndpointRow, lockStudentMoney, type PaymentDeps, rederiveInvoices, type Reply, unwindPayment } from './payments.service';

/**
 * The bill-payment protocol partner banks use for school fees ("thu hộ học phí"), in our native
 * JSON signed per Standard Webhooks (the same signature as direct partners):
 * - inquiry: the bank sends a student's personal ID or a payment code; we answer the open invoices
 *   with amounts and the student's name, the personal ID masked;
 * - payment: the bank reports a payment (its transaction id, amount, which invoices or all);
 * - reversal: the bank cancels a payment the same day.
 * Replies carry `result_code` ('00' success). Payments and reversals are stored as bank events
 * first, so a repeated notification is answered from the stored reply and records nothing.
 */
const CustomerCode = z.string().trim().regex(/^(\d{12}|[0-9A-Za-z]{10})$/, 'must be a 12-digit personal ID or a 10-symbol payment code');
const InquiryBody = z.object({ request_id: z.string().min(1).max(100), customer_code: CustomerCode }).strict();
/** Bank transaction ids: no ':' so a reversal's stored id (`REV:<id>`) can never equal a payment's. */
const BankTransactionId = z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 of A-Z, a-z, 0-9, . _ -');
const PaymentBody = z
  .object({
    bank_transaction_id: BankTransactionId,
    customer_code: CustomerCode,
    amount_vnd: z.number().int().min(1).max(MAX_AMOUNT_VND),
    invoice_codes: z.array(z.string().regex(/^[0-9A-Za-z]{10}$/)).max(24).optional(),
    paid_at: z.iso.datetime({ offset: true }),
  })
  .strict();
const ReversalBody = z
  .object({ bank_transaction_id: BankTransactionId, original_transaction_id: BankTransactionId, reason: z.string().min(1).max(500) })
  .strict();

const reply = (status: number, resultCode: string, message: string, extra: Record<string, unknown> = {}): Reply => ({ status, body: { result_code: resultCode, message, ...extra } });

interface Customer {
  personId: string;
  fullName: string;
  personalId: string;
  className: string;
}

async function findCustomer(db: Knex, schoolId: string, code: string): Promise<Customer | undefined> {
  const base = db('enrollments as e')
    .join('people as p', 'p.id', 'e.person_id')
    .join('classes as c', (j) => j.on('c.school_id', '=', 'e.school_id').andOn('c.id', '=', 'e.class_id'))
    .where('e.school_id', schoolId)
    .orderByRaw('e.left_on IS NULL DESC, e.enrolled_on DESC');
  const row = /^\d{12}$/.test(code)
    ? await base.where('p.personal_id', code).first('p.id', 'p.full_name', 'p.personal_id', 'c.name as class_name')
    : await base.whereIn('p.id', db('invoices').where({ school_id: schoolId, payment_code: code.toUpperCase() }).select('person_id')).first('p.id', 'p.full_name', 'p.personal_id', 'c.name as class_name');
  return row ? { personId: row.id, fullName: row.full_name, personalId: row.personal_id, className: row.class_name } : undefined;
}

async function openInvoices(db: Knex, schoolId: string, personId: string) {
  return db('invoices')
    .where({ school_id: schoolId, person_id: personId })
    .whereIn('status', ['open', 'partially_paid'])
    .orderBy([{ column: 'due_on' }, { column: 'number' }])
    .select<{ id: string; payment_code: string; period_label: string; due_on: string; total_vnd: string; paid_vnd: string }[]>('id', 'payment_code', 'period_label', 'due_on', db.raw('total_vnd - credited_vnd AS total_vnd'), 'paid_vnd');
}

async function loadEndpoint(db: Knex, endpointId: string): Promise<EndpointRow | undefined> {
  if (!isId('bep', endpointId)) return undefined;
  return db('bank_endpoints as e')
    .join('collection_accounts as a', (j) => j.on('a.school_id', '=', 'e.school_id').andOn('a.id', '=', 'e.collection_account_id'))
    .where({ 'e.id': endpointId, 'e.provider': 'billpay' })
    .first<EndpointRow | undefined>('e.id', 'e.school_id', 'e.provider', 'e.secret', 'e.collection_account_id', 'a.account_number');
}

function parseJson(req: InboundRequest): unknown {
  try {
    return JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** One entry point for the three messages: signature first, then the message's schema. */
export async function handleBillPayment(deps: PaymentDeps, endpointId: string, action: 'inquiry' | 'payment' | 'reversal', req: InboundRequest): Promise<Reply> {
  const now = deps.clock.now();
  const endpoint = await loadEndpoint(deps.db, endpointId);
  const verified = endpoint ? directAdapter.verify(req, endpoint.secret, now) : { ok: false as const, reason: 'unknown endpoint' };
  if (!verified.ok) {
    deps.logger.warn({ provider: 'billpay', endpoint_id: endpointId, reason: verified.reason }, 'bill-payment message rejected');
    return reply(401, 'SIGNATURE_INVALID', 'The signature does not verify.');
  }
  const schema = action === 'inquiry' ? InquiryBody : action === 'payment' ? PaymentBody : ReversalBody;
  const parsed = schema.safeParse(parseJson(req));
  if (!parsed.success) return reply(400, 'MALFORMED', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  const schoolId = endpoint!.school_id;

  if (action === 'inquiry') {
    const body = parsed.data as z.infer<typeof InquiryBody>;
    const customer = await findCustomer(deps.db, schoolId, body.customer_code);
    if (!customer) return reply(404, 'CUSTOMER_NOT_FOUND', 'No student of this school matches the code.');
    const invoices = await openInvoices(deps.db, schoolId, customer.personId);
    const due = invoices.map((i) => ({ payment_code: i.payment_code, period_label: i.period_label, due_on: i.due_on, due_vnd: parseVnd(i.total_vnd) - parseVnd(i.paid_vnd) }));
    return reply(200, '00', 'OK', {
      request_id: body.request_id,
      student: { full_name: customer.fullName, personal_id_masked: maskPersonalId(customer.personalId), class_name: customer.className },
      invoices: due,
      total_due_vnd: due.reduce((s, i) => s + i.due_vnd, 0),
    });
  }

  if (action === 'payment') {
    const body = parsed.data as z.infer<typeof PaymentBody>;
    const existing = await deps.db('bank_events').where({ school_id: schoolId, endpoint_id: endpointId, external_id: body.bank_transaction_id }).first<{ amount_vnd: string; response_status: number; response_body: unknown } | undefined>();
    if (existing) {
      return parseVnd(existing.amount_vnd) === body.amount_vnd ? { status: existing.response_status, body: existing.response_body } : reply(409, 'DUPLICATE_TRANSACTION_ID', 'This transaction id was reported with another amount.');
    }
    const customer = await findCustomer(deps.db, schoolId, body.customer_code);
    if (!customer) return reply(404, 'CUSTOMER_NOT_FOUND', 'No student of this school matches the code.');
    const open = await openInvoices(deps.db, schoolId, customer.personId);
    const named = (body.invoice_codes ?? []).map((c) => open.find((i) => i.payment_code === c.toUpperCase()));
    if (named.some((i) => !i)) return reply(422, 'INVOICE_NOT_OPEN', 'An invoice code is not an open invoice of this student.');
    const target = named[0] ?? open[0];
    if (!target) return reply(422, 'NOTHING_DUE', 'The student has no open invoice.');
    const transfer: NormalizedTransfer & { invoiceIds: string[] } = {
      externalId: body.bank_transaction_id,
      amountVnd: body.amount_vnd,
      direction: 'in',
      accountNumber: endpoint!.account_number,
      virtualAccount: null,
      description: `BILLPAY ${(body.invoice_codes ?? []).join(' ')}`.trim(),
      paymentCodeHint: target.payment_code,
      occurredAt: new Date(body.paid_at).toISOString(),
      bankReference: body.bank_transaction_id,
      payerName: null,
      succeeded: true,
      invoiceIds: named.map((i) => i!.id),
    };
    const ok = reply(200, '00', 'Payment recorded.', { bank_transaction_id: body.bank_transaction_id });
    const [event] = await deps.db('bank_events')
      .insert({
        school_id: schoolId, endpoint_id: endpointId, provider: 'billpay', external_id: body.bank_transaction_id, amount_vnd: body.amount_vnd, direction: 'in',
        account_number: endpoint!.account_number, description: transfer.description, transfer: JSON.stringify(transfer), raw_headers: JSON.stringify(req.headers),
        raw_body: req.rawBody.toString('utf8'), raw_query: '{}', received_at: now, response_status: ok.status, response_body: JSON.stringify(ok.body),
      })
      .onConflict(['school_id', 'endpoint_id', 'external_id'])
      .ignore()
      .returning<{ id: string }[]>('id');
    if (!event) return handleBillPayment(deps, endpointId, action, req); // a concurrent delivery stored it first: answer as a replay
    try {
      await processBankEvent(deps, schoolId, event.id);
    } catch (err) {
      deps.logger.error({ event_id: event.id, err: err instanceof Error ? err.message : String(err) }, 'bill payment processing failed');
    }
    return ok;
  }

  const body = parsed.data as z.infer<typeof ReversalBody>;
  return reversePayment(deps, endpoint!, body, req);
}

/**
 * The bank's payment notification arrived after another provider watching the same account (SePay,
 * Casso) had reported the same transfer: its event was stored as `duplicate` and the payment is the
 * other report's, found by the transfer's bank reference on the endpoint's collection account. The
 * event is locked first, then the payment, the order of the single-statement lock above.
 */
async function findReportedByAnother(trx: Knex.Transaction, schoolId: string, endpoint: EndpointRow, originalTransactionId: string) {
  const event = await trx('bank_events')
    .where({ school_id: schoolId, endpoint_id: endpoint.id, external_id: originalTransactionId, status: 'duplicate' })
    .forUpdate()
    .first<{ id: string; transfer: { bankReference?: string | null } } | undefined>('id', 'transfer');
  const reference = event?.transfer.bankReference?.trim();
  if (!event || !reference) return undefined;
  const payment = await trx('payments')
    .where({ school_id: schoolId, collection_account_id: endpoint.collection_account_id, bank_reference: reference })
    .whereNot({ provider: 'vnpay' })
    .forUpdate()
    .first<{ id: string; person_id: string | null; amount_vnd: string; recorded_at: Date; collection_account_id: string | null } | undefined>('id', 'person_id', 'amount_vnd', 'recorded_at', 'collection_account_id');
  return payment ? { event_id: event.id, payment_id: payment.id, person_id: payment.person_id, amount_vnd: payment.amount_vnd, recorded_at: payment.recorded_at, collection_account_id: payment.collection_account_id } : undefined;
}

/**
 * A same-day cancel from the bank: the payment is not edited; negative allocations and a reversing
 * journal undo it, and the invoices' paid amounts and statuses are derived again.
 */
async function reversePayment(deps: PaymentDeps, endpoint: EndpointRow, body: z.infer<typeof ReversalBody>, req: InboundRequest): Promise<Reply> {
  const now = deps.clock.now();
  const schoolId = endpoint.school_id;
  const reversalId = `REV:${body.bank_transaction_id}`;
  const stored = await deps.db('bank_events').where({ school_id: schoolId, endpoint_id: endpoint.id, external_id: reversalId }).first<{ response_status: number; response_body: unknown } | undefined>();
  if (stored) return { status: stored.response_status, body: stored.response_body };

  return deps.db.transaction(async (trx) => {
    // Locking the original event serializes reversals of one payment: the second one waits, then
    // finds the reversing journal and is refused, so allocations are never reversed twice.
    const original = await trx('bank_events as b')
      .join('payments as p', (j) => j.on('p.school_id', '=', 'b.school_id').andOn('p.bank_event_id', '=', 'b.id'))
      // Only this bank's own payments: another partner may reuse the same transaction id.
      .where({ 'b.school_id': schoolId, 'b.endpoint_id': endpoint.id, 'b.external_id': body.original_transaction_id })
      // The payment row too: a correction of the payment locks it first, so the two are serialized.
      .forUpdate('b', 'p')
      .first<{ event_id: string; payment_id: string; person_id: string | null; amount_vnd: string; recorded_at: Date; collection_account_id: string | null } | undefined>('b.id as event_id', 'p.id as payment_id', 'p.person_id', 'p.amount_vnd', 'p.recorded_at', 'p.collection_account_id')
      ?? (await findReportedByAnother(trx, schoolId, endpoint, body.original_transaction_id));
    if (!original) return reply(404, 'ORIGINAL_NOT_FOUND', 'No recorded payment has this transaction id.');
    // The same reversal delivered twice at once: the second waited for the lock above; it gets the first's reply.
    const storedMeanwhile = await trx('bank_events').where({ school_id: schoolId, endpoint_id: endpoint.id, external_id: reversalId }).first<{ response_status: number; response_body: unknown } | undefined>();
    if (storedMeanwhile) return { status: storedMeanwhile.response_status, body: storedMeanwhile.response_body };
    if (vietnamDate(original.recorded_at) !== vietnamDate(now)) return reply(409, 'REVERSAL_WINDOW_CLOSED', 'A payment can be reversed only on the day it was made.');
    if (await trx('journals').where({ school_id: schoolId, kind: 'payment_reversed', reference_type: 'payment', reference_id: original.payment_id }).first()) {
      return reply(409, 'ALREADY_REVERSED', 'This payment was already reversed.');
    }
    // Money that went to suspense is the accountant's to sort out (its exception may be open or
    // already attributed); reversing it here could undo money an invoice now counts on.
    if (!original.person_id) return reply(409, 'REVERSAL_NOT_POSSIBLE', 'This payment is held in suspense; the school resolves it.');
    if (await trx('payment_corrections').where({ school_id: schoolId, payment_id: original.payment_id }).first()) return reply(409, 'REVERSAL_NOT_POSSIBLE', 'The school has moved this payment to another student; it resolves the reversal.');
    const amount = parseVnd(original.amount_vnd);
    const entries: { accountKind: 'bank_clearing' | 'receivable' | 'credit' | 'suspense'; accountKey: string; amountVnd: number }[] = [
      { accountKind: 'bank_clearing', accountKey: original.collection_account_id ?? endpoint.collection_account_id, amountVnd: -amount },
    ];
    if (original.person_id) {
      await lockStudentMoney(trx, schoolId, [original.person_id]);
      // What it pays on invoices now, capped by what they hold (a credit note may have moved part of it to credit).
      const unwound = await unwindPayment(trx, schoolId, original.payment_id, original.person_id, amount);
      const allocated = unwound.fromInvoicesVnd;
      const creditPart = unwound.fromCreditVnd;
      if (!unwound.creditStillHeld) return reply(409, 'REVERSAL_NOT_POSSIBLE', 'The surplus of this payment has already paid another invoice.');
      if (unwound.rows.length > 0) {
        await trx('allocations').insert(unwound.rows.map((r) => ({ school_id: schoolId, invoice_id: r.invoice_id, payment_id: r.payment_id, source: r.source, amount_vnd: r.amount_vnd, created_at: now })));
        await rederiveInvoices(trx, schoolId, unwound.rows.map((r) => r.invoice_id));
      }
      entries.push({ accountKind: 'receivable', accountKey: original.person_id, amountVnd: allocated }, { accountKind: 'credit', accountKey: original.person_id, amountVnd: creditPart });
    } else {
      entries.push({ accountKind: 'suspense', accountKey: '', amountVnd: amount });
    }
    await postJournals(trx, [{ schoolId, kind: 'payment_reversed', referenceType: 'payment', referenceId: original.payment_id, at: now, memo: body.reason, entries }]);
    // Credit the student still holds (a credit note's, another surplus) pays the reopened invoices.
    await applyStudentCredit(trx, schoolId, [original.person_id], now);
    const ok = reply(200, '00', 'Payment reversed.', { bank_transaction_id: body.bank_transaction_id, original_transaction_id: body.original_transaction_id });
    await trx('bank_events').insert({
      school_id: schoolId, endpoint_id: endpoint.id, provider: 'billpay', external_id: reversalId, amount_vnd: amount, direction: 'out',
      account_number: endpoint.account_number, description: `REVERSAL ${body.original_transaction_id}: ${body.reason}`.slice(0, 500), transfer: JSON.stringify(body),
      raw_headers: JSON.stringify(req.headers), raw_body: req.rawBody.toString('utf8'), raw_query: '{}', received_at: now, status: 'processed', processed_at: now,
      response_status: ok.status, response_body: JSON.stringify(ok.body),
    });
    return ok;
  });
}
