import type { Knex } from 'knex';
import { AppError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { findStudentAtSchool } from '../students/students.service';

/**
 * Per-student virtual accounts. A transfer whose virtual account (SePay `subAccount`, Casso
 * `virtualAccountNumber`, a partner's `virtual_account`) is one of these, on the endpoint's own
 * account, is attributed to its student before any payment code is looked for; the student's
 * invoices then show the virtual account in their VietQR, so parents need not type a code.
 */
export interface VirtualAccountRow {
  id: string;
  school_id: string;
  collection_account_id: string;
  number: string;
  person_id: string;
  created_by: string;
  created_at: Date;
}

export async function assignVirtualAccount(ctx: { db: Knex; clock: Clock; principal: Principal; requestId?: string }, schoolId: string, input: { collectionAccountId: string; personalId: string; number: string }): Promise<VirtualAccountRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const account = await ctx.db('collection_accounts').where({ school_id: schoolId, id: input.collectionAccountId }).first('id');
  if (!account) throw new UnprocessableError('COLLECTION_ACCOUNT_NOT_FOUND', 'No such collection account at this school.', 'collection_account_id');
  const student = await findStudentAtSchool(ctx.db, schoolId, input.personalId);
  const now = ctx.clock.now();
  try {
    return await ctx.db.transaction(async (trx) => {
      const [row] = await trx('virtual_accounts')
        .insert({ school_id: schoolId, collection_account_id: input.collectionAccountId, number: input.number, person_id: student.id, created_by: ctx.principal.personId, created_at: now })
        .returning<VirtualAccountRow[]>('*');
      await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'virtual_account.assigned', subjectType: 'virtual_account', subjectId: row!.id, details: { collection_account_id: input.collectionAccountId, number: input.number }, requestId: ctx.requestId, at: now });
      return row!;
    });
  } catch (e) {
    if (isUniqueViolation(e)) {
      const takenBy = await ctx.db('virtual_accounts').where({ school_id: schoolId, collection_account_id: input.collectionAccountId, number: input.number }).first('id');
      throw takenBy
        ? new AppError(409, 'conflict_error', 'VIRTUAL_ACCOUNT_TAKEN', 'This virtual account number already belongs to a student.', { param: 'number' })
        : new AppError(409, 'conflict_error', 'STUDENT_HAS_VIRTUAL_ACCOUNT', 'This student already has a virtual account on this collection account.', { param: 'personal_id' });
    }
    throw e;
  }
}

export async function listVirtualAccounts(ctx: { db: Knex; principal: Principal }, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<Page<VirtualAccountRow>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const q = ctx.db('virtual_accounts').where({ school_id: schoolId });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return toPage(await q.orderBy('id').limit(page.limit + 1).select<VirtualAccountRow[]>('*'), page.limit);
}
