import type { Knex } from 'knex';
import { AppError, ConflictError, NotFoundError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import { BANKS } from '../../lib/banks';
import { type Clock, vietnamDate } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { toAscii } from '../../lib/vietnamese-text';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { findPayeeRelation } from '../guardians/guardians.service';
import { accountBalance, postJournals } from '../ledger/ledger.service';
import { findPersonByPersonalId } from '../people/people.service';
import { findDefaultCollectionAccount } from '../schools/schools.service';
import { lockStudentMoney } from './payments.service';

/**
 * Refunds of a student's credit (overpayments, credit notes) to a bank account (maker-checker):
 * an accountant proposes, a school admin who is not the proposer approves or rejects. The payee is
 * bound to national identity: a verified guardian of the student while the student is under 18, or
 * the student from their 18th birthday; the account holder's name must be the payee's name. The
 * money leaves on approval, with a `credit_refunded` journal (Dr credit, Cr bank clearing of the
 * account it is paid from), under the student's money lock so credit can never go negative.
 */
export interface RefundContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

export interface RefundRow {
  id: string;
  school_id: string;
  person_id: string;
  payee_person_id: string;
  payee_relation: string;
  collection_account_id: string;
  bank_bin: string;
  account_number: string;
  account_name: string;
  amount_vnd: string;
  reason: string;
  status: 'proposed' | 'approved' | 'rejected';
  proposed_by: string;
  proposed_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
}

/** Bank account names are upper-case ASCII; a payee's name matches when it reads the same. */
export function sameHolderName(accountName: string, fullName: string): boolean {
  const norm = (s: string) => toAscii(s).toUpperCase();
  return norm(accountName) === norm(fullName);
}

/** Credit a student holds, less what proposed refunds already spoke for. */
async function availableCredit(trx: Knex.Transaction, schoolId: string, personId: string, exceptRefundId?: string): Promise<number> {
  const held = -(await accountBalance(trx, schoolId, 'credit', personId));
  const q = trx('refunds').where({ school_id: schoolId, person_id: personId, status: 'proposed' });
  if (exceptRefundId) q.whereNot({ id: exceptRefundId });
  const [row] = await q.sum<{ sum: string | null }[]>('amount_vnd as sum');
  return held - parseVnd(row?.sum ?? 0);
}

const refundNotFound = () => new NotFoundError('REFUND_NOT_FOUND', 'No such refund at this school.', 'refund_id');

/** An accountant proposes refunding part or all of a student's credit to a verified payee. */
export async function proposeRefund(
  ctx: RefundContext,
  schoolId: string,
  input: { studentId: string; payeePersonalId: string; bankBin: string; accountNumber: string; accountName: string; amountVnd: number; reason: string },
): Promise<RefundRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const now = ctx.clock.now();
  const enrolled = await ctx.db('enrollments').where({ school_id: schoolId, person_id: input.studentId }).first('id');
  if (!enrolled) throw new NotFoundError('STUDENT_NOT_FOUND', 'No such student at this school.', 'student_id');
  const payee = await findPersonByPersonalId(ctx.db, input.payeePersonalId);
  const relation = payee ? await findPayeeRelation(ctx.db, input.studentId, payee.id, vietnamDate(now)) : null;
  if (!payee || !relation) throw new UnprocessableError('PAYEE_NOT_VERIFIED', 'The payee must be a verified guardian of the student (or the student, once 18).', 'payee_personal_id');
  if (!BANKS.has(input.bankBin)) throw new UnprocessableError('BANK_UNKNOWN', 'No VietQR bank has this BIN.', 'bank_bin');
  if (!sameHolderName(input.accountName, payee.full_name)) throw new UnprocessableError('ACCOUNT_NAME_MISMATCH', 'The account holder\'s name is not the payee\'s name.', 'account_name');
  const account = await findDefaultCollectionAccount(ctx.db, schoolId);
  if (!account) throw new UnprocessableError('COLLECTION_ACCOUNT_NOT_FOUND', 'The school has no default collection account to pay from.');
  return ctx.db.transaction(async (trx) => {
    await lockStudentMoney(trx, schoolId, [input.studentId]);
    if ((await availableCredit(trx, schoolId, input.studentId)) < input.amountVnd) {
      throw new ConflictError('INSUFFICIENT_CREDIT', 'The student\'s credit (less refunds already proposed) is less than this amount.', { param: 'amount_vnd' });
    }
    const [row] = await trx('refunds')
      .insert({
        school_id: schoolId, person_id: input.studentId, payee_person_id: payee.id, payee_relation: relation, collection_account_id: account.id,
        bank_bin: input.bankBin, account_number: input.accountNumber, account_name: toAscii(input.accountName).toUpperCase(), amount_vnd: input.amountVnd,
        reason: input.reason, status: 'proposed', proposed_by: ctx.principal.personId, proposed_at: now,
      })
      .returning<RefundRow[]>('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'refund.proposed', subjectType: 'refund', subjectId: row!.id, details: { amount_vnd: input.amountVnd, reason: input.reason, payee_relation: relation }, requestId: ctx.requestId, at: now });
    return row!;
  });
}

/** A school admin (not the proposer) decides a proposed refund; approval moves the money. */
export async function decideRefund(ctx: RefundContext, schoolId: string, refundId: string, decision: { approve: boolean; note?: string }): Promise<RefundRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const refund = await trx('refunds').where({ school_id: schoolId, id: refundId }).first<RefundRow | undefined>('*');
    if (!refund) throw refundNotFound();
    // The money lock first (as every money path takes it before rows), then the refund row.
    await lockStudentMoney(trx, schoolId, [refund.person_id]);
    const current = (await trx('refunds').where({ school_id: schoolId, id: refundId }).forUpdate().first<RefundRow>('*'))!;
    if (current.status !== 'proposed') throw new ConflictError('REFUND_ALREADY_DECIDED', `This refund was already ${current.status}.`);
    if (current.proposed_by === ctx.principal.personId) throw new AppError(403, 'permission_error', 'FOUR_EYES_REQUIRED', 'The person who proposed a refund cannot decide it.');
    const amount = parseVnd(current.amount_vnd);
    if (decision.approve) {
      if ((await findPayeeRelation(trx, current.person_id, current.payee_person_id, vietnamDate(now))) === null) {
        throw new ConflictError('PAYEE_NO_LONGER_VERIFIED', 'The payee is no longer a verified guardian of the student; propose the refund again.');
      }
      if (-(await accountBalance(trx, schoolId, 'credit', current.person_id)) < amount) {
        throw new ConflictError('INSUFFICIENT_CREDIT', 'The student\'s credit has been used meanwhile and no longer covers this refund.');
      }
      await postJournals(trx, [{
        schoolId, kind: 'credit_refunded', referenceType: 'refund', referenceId: refundId, at: now, memo: current.reason,
        entries: [{ accountKind: 'credit', accountKey: current.person_id, amountVnd: amount }, { accountKind: 'bank_clearing', accountKey: current.collection_account_id, amountVnd: -amount }],
      }]);
    }
    const [row] = await trx('refunds')
      .where({ school_id: schoolId, id: refundId, status: 'proposed' })
      .update({ status: decision.approve ? 'approved' : 'rejected', decided_by: ctx.principal.personId, decided_at: now, decision_note: decision.note ?? null })
      .returning<RefundRow[]>('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: decision.approve ? 'refund.approved' : 'refund.rejected', subjectType: 'refund', subjectId: refundId, details: { amount_vnd: amount, note: decision.note ?? null }, requestId: ctx.requestId, at: now });
    return row!;
  });
}

export async function listRefunds(ctx: RefundContext, schoolId: string, filter: { status?: RefundRow['status'] }, page: { limit: number; startingAfter?: string }): Promise<Page<RefundRow>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const q = ctx.db('refunds').where({ school_id: schoolId });
  if (filter.status) q.where({ status: filter.status });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return toPage(await q.orderBy('id').limit(page.limit + 1).select<RefundRow[]>('*'), page.limit);
}
