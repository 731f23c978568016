import type { Knex } from 'knex';
import { AppError, ConflictError, NotFoundError, ValidationError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import type { Clock } from '../../lib/clock';
import { type Principal, requireSchoolInScope, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { findStudentAtSchool } from '../students/students.service';

/**
 * Tuition exemptions (Decree 81/2021, replaced by Decree 238/2025): the category fixes the
 * percentage. An accountant proposes, a school admin other than the proposer approves or rejects
 * (maker-checker); only approved exemptions reach invoices, and only the highest applies.
 */
export const EXEMPTION_PERCENT = {
  meritorious_family: 100,
  disability: 100,
  orphan: 100,
  poor_ethnic_minority: 100,
  ethnic_minority_difficult_commune: 70,
  occupational_accident: 50,
} as const;
export type ExemptionCategory = keyof typeof EXEMPTION_PERCENT;

export interface ExemptionRow {
  id: string;
  school_id: string;
  person_id: string;
  category: ExemptionCategory;
  percent: number;
  valid_from: string;
  valid_to: string;
  evidence_ref: string;
  status: 'proposed' | 'approved' | 'rejected';
  proposed_by: string;
  proposed_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  decision_note: string | null;
}

export interface DiscountRow {
  id: string;
  school_id: string;
  person_id: string;
  fee_item_id: string;
  percent: string | null;
  amount_vnd: string | null;
  reason_code: string;
  valid_from: string;
  valid_to: string;
}

export interface ExemptionContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

/** An accountant (or admin) proposes an exemption with its evidence; it has no effect until approved. */
export async function proposeExemption(
  ctx: ExemptionContext,
  schoolId: string,
  input: { personalId: string; category: ExemptionCategory; percent: number; validFrom: string; validTo: string; evidenceRef: string },
): Promise<ExemptionRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  if (input.percent !== EXEMPTION_PERCENT[input.category]) {
    throw new ValidationError('EXEMPTION_PERCENT_INVALID', `Category ${input.category} exempts ${EXEMPTION_PERCENT[input.category]} %.`, { param: 'percent' });
  }
  if (input.validTo < input.validFrom) throw new ValidationError('DATE_RANGE_INVALID', 'valid_to must not be before valid_from.', { param: 'valid_to' });
  const student = await findStudentAtSchool(ctx.db, schoolId, input.personalId);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const [row] = await trx('exemptions')
      .insert({
        school_id: schoolId,
        person_id: student.id,
        category: input.category,
        percent: input.percent,
        valid_from: input.validFrom,
        valid_to: input.validTo,
        evidence_ref: input.evidenceRef,
        proposed_by: ctx.principal.personId,
        proposed_at: now,
      })
      .returning<ExemptionRow[]>('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'exemption.proposed', subjectType: 'exemption', subjectId: row!.id, details: { percent: input.percent, category: input.category }, requestId: ctx.requestId, at: now });
    return row!;
  });
}

/** A school admin decides a proposed exemption; the proposer cannot approve their own proposal. */
export async function decideExemption(ctx: ExemptionContext, schoolId: string, exemptionId: string, decision: 'approved' | 'rejected', note?: string): Promise<ExemptionRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const current = await trx('exemptions').where({ school_id: schoolId, id: exemptionId }).forUpdate().first<ExemptionRow | undefined>();
    if (!current) throw new NotFoundError('EXEMPTION_NOT_FOUND', 'No such exemption at this school.', 'exemption_id');
    if (current.status !== 'proposed') throw new ConflictError('EXEMPTION_ALREADY_DECIDED', `This exemption was already ${current.status}.`);
    if (current.proposed_by === ctx.principal.personId) {
      throw new AppError(403, 'permission_error', 'FOUR_EYES_REQUIRED', 'The person who proposed an exemption cannot decide it.');
    }
    const [row] = await trx('exemptions')
      .where({ school_id: schoolId, id: exemptionId, status: 'proposed' })
      .update({ status: decision, decided_by: ctx.principal.personId, decided_at: now, decision_note: note ?? null })
      .returning<ExemptionRow[]>('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: `exemption.${decision}`, subjectType: 'exemption', subjectId: exemptionId, details: { note: note ?? null }, requestId: ctx.requestId, at: now });
    return row!;
  });
}

export async function listExemptions(ctx: ExemptionContext, schoolId: string, page: { limit: number; startingAfter?: string; status?: string }): Promise<Page<ExemptionRow>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const q = ctx.db('exemptions').where({ school_id: schoolId });
  if (page.status) q.where({ status: page.status });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return toPage(await q.orderBy('id').limit(page.limit + 1).select<ExemptionRow[]>('*'), page.limit);
}

/** Grants an explicit discount (a percentage or an amount) on one item, with a reason code. */
export async function grantDiscount(
  ctx: ExemptionContext,
  schoolId: string,
  input: { personalId: string; feeItemId: string; percent?: number; amountVnd?: number; reasonCode: string; validFrom: string; validTo: string },
): Promise<DiscountRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  if (input.validTo < input.validFrom) throw new ValidationError('DATE_RANGE_INVALID', 'valid_to must not be before valid_from.', { param: 'valid_to' });
  const student = await findStudentAtSchool(ctx.db, schoolId, input.personalId);
  const item = await ctx.db('fee_items').where({ school_id: schoolId, id: input.feeItemId }).first('id');
  if (!item) throw new UnprocessableError('FEE_ITEM_NOT_FOUND', 'No such fee item at this school.', 'fee_item_id');
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const [row] = await trx('discounts')
      .insert({
        school_id: schoolId,
        person_id: student.id,
        fee_item_id: input.feeItemId,
        percent: input.percent ?? null,
        amount_vnd: input.amountVnd ?? null,
        reason_code: input.reasonCode,
        valid_from: input.validFrom,
        valid_to: input.validTo,
        created_by: ctx.principal.personId,
        created_at: now,
      })
      .returning<DiscountRow[]>('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'discount.granted', subjectType: 'discount', subjectId: row!.id, details: { reason_code: input.reasonCode }, requestId: ctx.requestId, at: now });
    return row!;
  });
}

export async function listDiscounts(ctx: ExemptionContext, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<Page<DiscountRow>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['accountant', 'school_admin']);
  const q = ctx.db('discounts').where({ school_id: schoolId });
  if (page.startingAfter) q.where('id', '>', page.startingAfter);
  return toPage(await q.orderBy('id').limit(page.limit + 1).select<DiscountRow[]>('*'), page.limit);
}

export interface SiblingRuleRow {
  id: string;
  school_id: string;
  fee_item_id: string;
  from_child: number;
  percent: string;
  reason_code: string;
  valid_from: string;
  valid_to: string | null;
  created_by: string;
  created_at: Date;
}

/**
 * A school admin defines a sibling rule: from the n-th child of a family at the school (eldest
 * first; siblings share a verified guardian), `percent` off one fee item, as an explicit discount
 * line with the rule's reason code when invoices are generated.
 */
export async function createSiblingRule(
  ctx: ExemptionContext,
  schoolId: string,
  input: { feeItemId: string; fromChild: number; percent: number; reasonCode: string; validFrom: string; validTo?: string },
): Promise<SiblingRuleRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, ['school_admin']);
  if (input.validTo !== undefined && input.validTo < input.validFrom) throw new ValidationError('DATE_RANGE_INVALID', 'valid_to must not be before valid_from.', { param: 'valid_to' });
  const item = await ctx.db('fee_items').where({ school_id: schoolId, id: input.feeItemId }).first('id');
  if (!item) throw new UnprocessableError('FEE_ITEM_NOT_FOUND', 'No such fee item at this school.', 'fee_item_id');
  const now = ctx.clock.now();
  return ctx.db.transaction(async (trx) => {
    const [row] = await trx('sibling_rules')
      .insert({ school_id: schoolId, fee_item_id: input.feeItemId, from_child: input.fromChild, percent: input.percent, reason_code: input.reasonCode, valid_from: input.validFrom, valid_to: input.validTo ?? null, created_by: ctx.principal.personId, created_at: now })
      .returning<SiblingRuleRow[]>('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'sibling_rule.created', subjectType: 'sibling_rule', subjectId: row!.id, details: { fee_item_id: input.feeItemId, from_child: input.fromChild, percent: input.percent }, requestId: ctx.requestId, at: now });
    return row!;
  });
}

export async function listSiblingRules(ctx: ExemptionContext, schoolId: string): Promise<SiblingRuleRow[]> {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  return ctx.db('sibling_rules').where({ school_id: schoolId }).orderBy('id').select<SiblingRuleRow[]>('*');
}
