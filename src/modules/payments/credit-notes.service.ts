import type { Knex } from 'knex';
import { ConflictError, UnprocessableError } from '../../http/errors';
import { type Clock, vietnamYear } from '../../lib/clock';
import { parseVnd, splitLargestRemainder } from '../../lib/money';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { takeNumbers } from '../invoices/invoices.repository';
import { loadInvoiceInScope } from '../invoices/invoices.service';
import { postJournals } from '../ledger/ledger.service';
import { lockStudentMoney, STATUS_FROM_PAID } from './payments.service';

/**
 * Credit notes on issued invoices, with Stripe's arithmetic. For a credit of A on an invoice that
 * asks T (its total less earlier credit notes) and has P paid:
 *   pre-payment part  = min(A, T - P): what was still owed simply stops being owed;
 *   post-payment part = A - pre:       money already paid leaves the invoice for the student's credit
 *                                      (a negative allocation from credit), where it pays their next
 *                                      invoice when that is issued.
 * Ledger: revenue is reduced per fee item (A), the receivable by the pre-payment part, and the
 * credit liability grows by the post-payment part. The invoice keeps its total and lines; it gains
 * `credited_vnd`, and its paid amount and status are derived again from its allocation rows.
 */
export interface CreditNoteRow {
  id: string;
  school_id: string;
  invoice_id: string;
  person_id: string;
  series: string;
  number: number;
  amount_vnd: string;
  pre_payment_vnd: string;
  post_payment_vnd: string;
  post_payment_to: 'credit';
  reason: string;
  created_by: string;
  created_at: Date;
}

type Ctx = { db: Knex; clock: Clock; principal: Principal; requestId?: string };

export async function createCreditNote(ctx: Ctx, invoiceId: string, input: { amountVnd: number; reason: string }): Promise<CreditNoteRow & { lines: { fee_item_id: string; amount_vnd: string }[] }> {
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const found = await loadInvoiceInScope(trx, ctx.principal, invoiceId);
    await requireSchoolRole(trx, ctx.principal, found.school_id, ['accountant', 'school_admin']);
    // The student's money lock first (as payments take it), then the invoice, read again under it.
    await lockStudentMoney(trx, found.school_id, [found.person_id]);
    const invoice = (await loadInvoiceInScope(trx, ctx.principal, invoiceId, true));
    if (!['open', 'partially_paid', 'paid'].includes(invoice.status)) {
      throw new ConflictError('INVOICE_NOT_CREDITABLE', `Only an issued invoice can be credited; this one is ${invoice.status}.`);
    }
    const asked = parseVnd(invoice.total_vnd) - parseVnd(invoice.credited_vnd);
    if (input.amountVnd > asked) {
      throw new UnprocessableError('CREDIT_EXCEEDS_INVOICE', `At most ${asked} dong of this invoice can still be credited.`, 'amount_vnd');
    }
    const paid = parseVnd(invoice.paid_vnd);
    const prePayment = Math.min(input.amountVnd, asked - paid);
    const postPayment = input.amountVnd - prePayment;

    // Taken from the fee items in proportion to what each still has uncredited, so no item's revenue
    // is ever reduced below zero; whole dong by largest remainder.
    const { rows: items } = await trx.raw<{ rows: { fee_item_id: string; remaining: string }[] }>(
      `SELECT l.fee_item_id, l.net - coalesce(c.credited, 0) AS remaining
       FROM (SELECT fee_item_id, sum(total_vnd) AS net FROM invoice_lines WHERE school_id = ? AND invoice_id = ? GROUP BY fee_item_id) l
       LEFT JOIN (SELECT cl.fee_item_id, sum(cl.amount_vnd) AS credited FROM credit_note_lines cl JOIN credit_notes n ON n.school_id = cl.school_id AND n.id = cl.credit_note_id
                  WHERE n.school_id = ? AND n.invoice_id = ? GROUP BY cl.fee_item_id) c ON c.fee_item_id = l.fee_item_id
       WHERE l.net - coalesce(c.credited, 0) > 0
       ORDER BY l.fee_item_id`,
      [invoice.school_id, invoice.id, invoice.school_id, invoice.id],
    );
    const shares = splitLargestRemainder(input.amountVnd, items.map((i) => parseVnd(i.remaining)));
    const lines = items.map((i, n) => ({ fee_item_id: i.fee_item_id, amount_vnd: shares[n]! })).filter((l) => l.amount_vnd > 0);

    const series = `CN-${vietnamYear(now)}`;
    const number = await takeNumbers(trx, invoice.school_id, series, 1);
    const [note] = await trx('credit_notes')
      .insert({ school_id: invoice.school_id, invoice_id: invoice.id, person_id: invoice.person_id, series, number, amount_vnd: input.amountVnd, pre_payment_vnd: prePayment, post_payment_vnd: postPayment, post_payment_to: 'credit', reason: input.reason, created_by: ctx.principal.personId, created_at: now })
      .returning<CreditNoteRow[]>('*');
    await trx('credit_note_lines').insert(lines.map((l) => ({ school_id: invoice.school_id, credit_note_id: note!.id, ...l })));
    if (postPayment > 0) {
      await trx('allocations').insert({ school_id: invoice.school_id, invoice_id: invoice.id, payment_id: null, source: 'credit', amount_vnd: -postPayment, created_at: now });
    }
    // Credited amount, paid amount (from the allocation rows) and status change together: one
    // statement, so credited + paid never exceeds the total, even for a moment.
    await trx.raw(
      `UPDATE invoices i SET credited_vnd = i.credited_vnd + :amount, paid_vnd = a.paid,
         status = ${STATUS_FROM_PAID('a.paid', 'i.credited_vnd + :amount')}
       FROM (SELECT coalesce(sum(amount_vnd), 0) AS paid FROM allocations WHERE school_id = :school AND invoice_id = :invoice) a
       WHERE i.school_id = :school AND i.id = :invoice`,
      { amount: input.amountVnd, school: invoice.school_id, invoice: invoice.id },
    );
    await postJournals(trx, [{
      schoolId: invoice.school_id,
      kind: 'credit_note',
      referenceType: 'credit_note',
      referenceId: note!.id,
      memo: input.reason,
      at: now,
      entries: [
        ...lines.map((l) => ({ accountKind: 'revenue' as const, accountKey: l.fee_item_id, amountVnd: l.amount_vnd })),
        { accountKind: 'receivable', accountKey: invoice.person_id, amountVnd: -prePayment },
        { accountKind: 'credit', accountKey: invoice.person_id, amountVnd: -postPayment },
      ],
    }]);
    await recordAuditEvent(trx, { schoolId: invoice.school_id, actorPersonId: ctx.principal.personId, action: 'credit_note.created', subjectType: 'credit_note', subjectId: note!.id, details: { invoice_id: invoice.id, amount_vnd: input.amountVnd, pre_payment_vnd: prePayment, post_payment_vnd: postPayment, reason: input.reason }, requestId: ctx.requestId, at: now });
    return { ...note!, lines: lines.map((l) => ({ fee_item_id: l.fee_item_id, amount_vnd: String(l.amount_vnd) })) };
  });
}

export async function listCreditNotes(ctx: Omit<Ctx, 'clock'>, invoiceId: string): Promise<(CreditNoteRow & { lines: { fee_item_id: string; amount_vnd: string }[] })[]> {
  const invoice = await loadInvoiceInScope(ctx.db, ctx.principal, invoiceId);
  await requireSchoolRole(ctx.db, ctx.principal, invoice.school_id, ['accountant', 'school_admin']);
  const notes = await ctx.db('credit_notes').where({ school_id: invoice.school_id, invoice_id: invoice.id }).orderBy('number').select<CreditNoteRow[]>('*');
  const lines = notes.length === 0 ? [] : await ctx.db('credit_note_lines').where({ school_id: invoice.school_id }).whereIn('credit_note_id', notes.map((n) => n.id)).orderBy('fee_item_id').select<{ credit_note_id: string; fee_item_id: string; amount_vnd: string }[]>('credit_note_id', 'fee_item_id', 'amount_vnd');
  return notes.map((n) => ({ ...n, lines: lines.filter((l) => l.credit_note_id === n.id).map((l) => ({ fee_item_id: l.fee_item_id, amount_vnd: l.amount_vnd })) }));
}
