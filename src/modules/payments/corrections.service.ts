import type { Knex } from 'knex';
import { AppError, NotFoundError, UnprocessableError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { isValidBundleCode } from '../../lib/payment-code';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { postJournals } from '../ledger/ledger.service';
import { allocateOldestFirst, applyStudentCredit, findInvoiceByCode, lockStudentsAndOpenInvoices, rederiveInvoices, unwindPayment } from './payments.service';

/**
 * Corrections of payments credited to the wrong student. The payment is never edited: what it paid
 * on the first student's invoices is reversed by negative allocation rows, its surplus is taken
 * back from their credit, and it is allocated again to the other student (oldest due first,
 * surplus to their credit). A `payment_corrected` journal moves receivable and credit between the
 * two; the latest correction says whose the payment is now.
 */
export interface CorrectionResult {
  id: string;
  school_id: string;
  payment_id: string;
  from_person_id: string;
  to_person_id: string;
  amount_vnd: number;
  reversed_allocations_vnd: number;
  reversed_credit_vnd: number;
  allocated_vnd: number;
  credit_vnd: number;
  reason: string;
  created_by: string;
  created_at: Date;
}

const conflict = (code: string, message: string) => new AppError(409, 'conflict_error', code, message);

export async function correctPayment(ctx: { db: Knex; clock: Clock; principal: Principal; requestId?: string }, schoolId: string, paymentId: string, input: { paymentCode: string; reason: string }): Promise<CorrectionResult> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    // The payment row is locked so two corrections of it are serialized.
    const payment = await trx('payments').where({ school_id: schoolId, id: paymentId }).forUpdate().first<{ id: string; person_id: string | null; amount_vnd: string; payment_code: string | null } | undefined>();
    if (!payment) throw new NotFoundError('PAYMENT_NOT_FOUND', 'No such payment at this school.', 'payment_id');
    // A combined payment paid several students' invoices; moving it to one student would unwind only
    // the owner's share (unwindPayment works on one owner). The school corrects those by hand.
    if (payment.payment_code && isValidBundleCode(payment.payment_code)) throw conflict('PAYMENT_IS_COMBINED', 'This payment paid several students\' invoices under a combined code and cannot be moved to one student.');
    if (!payment.person_id) throw conflict('PAYMENT_NOT_ATTRIBUTED', 'This payment is held in suspense; resolve its exception instead.');
    // Checked under the payment's row lock, which a bank reversal takes too.
    if (await trx('journals').where({ school_id: schoolId, kind: 'payment_reversed', reference_type: 'payment', reference_id: paymentId }).first()) {
      throw conflict('PAYMENT_REVERSED', 'The bank reversed this payment; there is nothing to move.');
    }
    const latest = await trx('payment_corrections').where({ school_id: schoolId, payment_id: paymentId }).orderBy('correction_no', 'desc').first<{ correction_no: number; to_person_id: string } | undefined>();
    const from = latest?.to_person_id ?? payment.person_id;
    const target = await findInvoiceByCode(trx, schoolId, input.paymentCode);
    if (!target) throw new UnprocessableError('PAYMENT_CODE_UNKNOWN', 'No issued invoice of this school has this payment code.', 'payment_code');
    if (target.person_id === from) throw conflict('SAME_STUDENT', 'The payment already belongs to the student of this code.');

    const openOf = await lockStudentsAndOpenInvoices(trx, [{ schoolId, personId: from }, { schoolId, personId: target.person_id }]);
    const amount = parseVnd(payment.amount_vnd);
    // What the payment pays now, per invoice (corrections before this one netted out their rows),
    // and what of it a credit note has moved to the student's credit.
    const unwound = await unwindPayment(trx, schoolId, paymentId, from, amount);
    const reversedAllocations = unwound.fromInvoicesVnd;
    const reversedCredit = unwound.fromCreditVnd;
    if (!unwound.creditStillHeld) {
      throw conflict('CREDIT_ALREADY_USED', 'The surplus of this payment has already paid another invoice of the student; it cannot be moved.');
    }
    const { allocations, leftoverVnd } = allocateOldestFirst(amount, openOf.get(`${schoolId}|${target.person_id}`) ?? []);
    const rows = [
      ...unwound.rows.map((r) => ({ school_id: schoolId, invoice_id: r.invoice_id, payment_id: r.payment_id, source: r.source, amount_vnd: r.amount_vnd, created_at: now })),
      ...allocations.map((a) => ({ school_id: schoolId, invoice_id: a.invoiceId, payment_id: paymentId, source: 'payment', amount_vnd: a.amountVnd, created_at: now })),
    ];
    if (rows.length > 0) {
      await trx('allocations').insert(rows);
      await rederiveInvoices(trx, schoolId, rows.map((r) => r.invoice_id));
    }
    const [correction] = await trx('payment_corrections')
      .insert({ school_id: schoolId, payment_id: paymentId, correction_no: (latest?.correction_no ?? 0) + 1, from_person_id: from, to_person_id: target.person_id, reason: input.reason, created_by: ctx.principal.personId, created_at: now })
      .returning<{ id: string }[]>('id');
    const allocated = amount - leftoverVnd;
    await postJournals(trx, [{
      schoolId, kind: 'payment_corrected', referenceType: 'payment_correction', referenceId: correction!.id, at: now, memo: input.reason,
      entries: [
        { accountKind: 'receivable', accountKey: from, amountVnd: reversedAllocations },
        { accountKind: 'credit', accountKey: from, amountVnd: reversedCredit },
        { accountKind: 'receivable', accountKey: target.person_id, amountVnd: -allocated },
        { accountKind: 'credit', accountKey: target.person_id, amountVnd: -leftoverVnd },
      ],
    }]);
    // The first student's remaining credit (a credit note's, another payment's surplus) pays their
    // reopened invoices at once.
    await applyStudentCredit(trx, schoolId, [from], now);
    const result: CorrectionResult = {
      id: correction!.id, school_id: schoolId, payment_id: paymentId, from_person_id: from, to_person_id: target.person_id, amount_vnd: amount,
      reversed_allocations_vnd: reversedAllocations, reversed_credit_vnd: reversedCredit, allocated_vnd: allocated, credit_vnd: leftoverVnd,
      reason: input.reason, created_by: ctx.principal.personId, created_at: now,
    };
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'payment.corrected', subjectType: 'payment', subjectId: paymentId, details: { correction_id: correction!.id, from_person_id: from, to_person_id: target.person_id, reason: input.reason }, requestId: ctx.requestId, at: now });
    return result;
  });
}
