import type { Knex } from 'knex';
import { ConflictError, NotFoundError, UnprocessableError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import { type Clock, monthBounds } from '../../lib/clock';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type Principal, requireSchoolInScope, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { findStudentAtSchool } from '../students/students.service';
import { getClass } from '../schools/schools.service';
import * as repo from './fees.repository';

export type { FeeItemRow, PlanRow, VersionItemRow, VersionRow } from './fees.repository';

const STAFF = ['accountant', 'school_admin'] as const;

export interface FeesContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

export interface PlanItemInput {
  feeItemId: string;
  amountVnd: number;
}


/** Adds a fee item to the school's catalog (codes are unique per school). */
export async function createFeeItem(ctx: FeesContext, schoolId: string, item: Omit<repo.FeeItemRow, 'id' | 'school_id' | 'created_at'>): Promise<repo.FeeItemRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  try {
    return await repo.insertFeeItem(ctx.db, { ...item, school_id: schoolId, name: item.name.normalize('NFC') });
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError('FEE_ITEM_CODE_EXISTS', 'This school already has a fee item with this code.', { param: 'code' });
    throw e;
  }
}

export async function listFeeItems(ctx: FeesContext, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<Page<repo.FeeItemRow>> {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  return toPage(await repo.listFeeItems(ctx.db, schoolId, page), page.limit);
}

async function checkPlanItems(db: Knex | Knex.Transaction, schoolId: string, items: PlanItemInput[]): Promise<void> {
  const found = await repo.findFeeItems(db, schoolId, items.map((i) => i.feeItemId));
  const missing = items.findIndex((i) => !found.some((f) => f.id === i.feeItemId));
  if (missing >= 0) throw new UnprocessableError('FEE_ITEM_NOT_FOUND', 'A plan item names a fee item this school does not have.', `items.${missing}.fee_item_id`);
}

export interface PlanWithVersions {
  plan: repo.PlanRow;
  versions: (repo.VersionRow & { items: repo.VersionItemRow[] })[];
}

export async function getPlan(ctx: Pick<FeesContext, 'db' | 'principal'>, schoolId: string, planId: string): Promise<PlanWithVersions> {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  return loadPlan(ctx.db, schoolId, planId);
}

async function loadPlan(db: Knex | Knex.Transaction, schoolId: string, planId: string): Promise<PlanWithVersions> {
  const plan = await repo.findPlan(db, schoolId, planId);
  if (!plan) throw new NotFoundError('FEE_PLAN_NOT_FOUND', 'No such fee plan at this school.', 'plan_id');
  const versions = await repo.listVersions(db, schoolId, [planId]);
  const items = await repo.listVersionItems(db, schoolId, versions.map((v) => v.id));
  return { plan, versions: versions.map((v) => ({ ...v, items: items.filter((i) => i.version_id === v.id) })) };
}

export async function listPlans(ctx: FeesContext, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<Page<PlanWithVersions>> {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  const plans = toPage(await repo.listPlans(ctx.db, schoolId, page), page.limit);
  const data = await Promise.all(plans.data.map((p) => loadPlan(ctx.db, schoolId, p.id)));
  return { data, has_more: plans.has_more };
}

/**
 * Creates a fee plan for a grade (or one class) of an academic year with its first version. The
 * grade must be one the school teaches that year.
 */
export async function createFeePlan(
  ctx: FeesContext,
  schoolId: string,
  input: { academicYear: string; grade: number; classId?: string; name: string; effectiveFrom: string; items: PlanItemInput[] },
): Promise<PlanWithVersions> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  return ctx.db.transaction(async (trx) => {
    const year = await trx('academic_years').where({ code: input.academicYear }).first<{ id: string; starts_on: string; ends_on: string } | undefined>('id', 'starts_on', 'ends_on');
    if (!year) throw new UnprocessableError('ACADEMIC_YEAR_NOT_FOUND', 'No such academic year.', 'academic_year');
    if (!(await repo.gradesOffered(trx, schoolId, year.id)).includes(input.grade)) {
      throw new UnprocessableError('GRADE_NOT_OFFERED', 'The school has no class of this grade in that academic year.', 'grade');
    }
    if (input.classId) {
      const klass = await getClass(trx, schoolId, input.classId);
      if (klass.grade !== input.grade || klass.academic_year !== input.academicYear) throw new UnprocessableError('CLASS_NOT_IN_GRADE', 'The class is not of this grade and year.', 'class_id');
    }
    if (input.effectiveFrom < year.starts_on || input.effectiveFrom > year.ends_on) {
      throw new UnprocessableError('EFFECTIVE_DATE_OUTSIDE_YEAR', 'effective_from must fall within the academic year.', 'effective_from');
    }
    await checkPlanItems(trx, schoolId, input.items);
    let planId: string;
    try {
      planId = await repo.insertPlan(trx, { schoolId, academicYearId: year.id, grade: input.grade, classId: input.classId, name: input.name.normalize('NFC') });
    } catch (e) {
      if (isUniqueViolation(e)) throw new ConflictError('FEE_PLAN_EXISTS', 'A plan for this grade (or class) and year exists; add a version to it.', { param: 'grade' });
      throw e;
    }
    const versionId = await repo.insertVersion(trx, { schoolId, planId, version: 1, effectiveFrom: input.effectiveFrom });
    await repo.replaceVersionItems(trx, schoolId, versionId, input.items);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'fee_plan.created', subjectType: 'fee_plan', subjectId: planId, requestId: ctx.requestId, at: ctx.clock.now() });
    return loadPlan(trx, schoolId, planId);
  });
}

/**
 * Adds a version effective from a later date than every existing version: versions never
 * overlap, and a new price never rewrites an old one.
 */
export async function addPlanVersion(ctx: FeesContext, schoolId: string, planId: string, input: { effectiveFrom: string; items: PlanItemInput[] }): Promise<PlanWithVersions> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  return ctx.db.transaction(async (trx) => {
    const plan = await repo.findPlan(trx, schoolId, planId);
    if (!plan) throw new NotFoundError('FEE_PLAN_NOT_FOUND', 'No such fee plan at this school.', 'plan_id');
    await repo.lockPlan(trx, schoolId, planId);
    const versions = await repo.listVersions(trx, schoolId, [planId]);
    const latest = versions.at(-1)!;
    if (input.effectiveFrom <= latest.effective_from) {
      throw new ConflictError('PLAN_VERSION_OVERLAP', `A new version must take effect after ${latest.effective_from}.`, { param: 'effective_from' });
    }
    // A new price may not reach back into a period already invoiced.
    const invoicedUntil = await repo.lastInvoicedDay(trx, schoolId, versions.map((v) => v.id));
    if (invoicedUntil && input.effectiveFrom <= invoicedUntil) {
      throw new ConflictError('PLAN_VERSION_BACKDATED', `Invoices priced by this plan run until ${invoicedUntil}; a new version must take effect after that.`, { param: 'effective_from' });
    }
    await checkPlanItems(trx, schoolId, input.items);
    const versionId = await repo.insertVersion(trx, { schoolId, planId, version: latest.version + 1, effectiveFrom: input.effectiveFrom });
    await repo.replaceVersionItems(trx, schoolId, versionId, input.items);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'fee_plan.version_added', subjectType: 'fee_plan_version', subjectId: versionId, requestId: ctx.requestId, at: ctx.clock.now() });
    return loadPlan(trx, schoolId, planId);
  });
}

/** Changes a version's prices while no invoice references it; afterwards it is locked for good. */
export async function replacePlanVersionItems(ctx: FeesContext, schoolId: string, planId: string, versionId: string, items: PlanItemInput[]): Promise<PlanWithVersions> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  return ctx.db.transaction(async (trx) => {
    const version = await repo.findVersionForUpdate(trx, schoolId, planId, versionId);
    if (!version) throw new NotFoundError('PLAN_VERSION_NOT_FOUND', 'No such version of this plan.', 'version_id');
    if (version.locked_at) throw new ConflictError('PLAN_VERSION_LOCKED', 'Invoices reference this version; create a new version instead.');
    await checkPlanItems(trx, schoolId, items);
    await repo.replaceVersionItems(trx, schoolId, versionId, items);
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'fee_plan.version_changed', subjectType: 'fee_plan_version', subjectId: versionId, requestId: ctx.requestId, at: ctx.clock.now() });
    return loadPlan(trx, schoolId, planId);
  });
}

/** Sets the days the school is open in a month (replacing what was there). */
export async function setSchoolDays(ctx: FeesContext, schoolId: string, month: string, days: string[]): Promise<string[]> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const { start, end } = monthBounds(month);
  const outside = days.findIndex((d) => d < start || d > end);
  if (outside >= 0) throw new UnprocessableError('DAY_OUTSIDE_MONTH', `Every day must fall in ${month}.`, `school_days.${outside}`);
  await ctx.db.transaction((trx) => repo.replaceSchoolDays(trx, schoolId, start, end, [...days].sort()));
  return repo.listSchoolDays(ctx.db, schoolId, start, end);
}

export async function getSchoolDays(ctx: FeesContext, schoolId: string, month: string): Promise<string[]> {
  await requireSchoolInScope(ctx.db, ctx.principal, schoolId);
  const { start, end } = monthBounds(month);
  return repo.listSchoolDays(ctx.db, schoolId, start, end);
}

/** Enrols a student in a voluntary item (a club, native-speaker English). */
export async function enrolInOptionalItem(ctx: FeesContext, schoolId: string, input: { personalId: string; feeItemId: string; fromOn: string; toOn?: string }) {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const person = await findStudentAtSchool(ctx.db, schoolId, input.personalId);
  const [item] = await repo.findFeeItems(ctx.db, schoolId, [input.feeItemId]);
  if (!item) throw new UnprocessableError('FEE_ITEM_NOT_FOUND', 'No such fee item at this school.', 'fee_item_id');
  if (!item.optional) throw new UnprocessableError('FEE_ITEM_NOT_OPTIONAL', 'Only voluntary items take enrolments; mandatory items apply to everyone.', 'fee_item_id');
  if (input.toOn && input.toOn < input.fromOn) throw new UnprocessableError('DATE_RANGE_INVALID', 'to_on must not be before from_on.', 'to_on');
  try {
    const row = await repo.insertOptionalEnrollment(ctx.db, { schoolId, personId: person.id, feeItemId: input.feeItemId, fromOn: input.fromOn, toOn: input.toOn });
    return { id: row.id, school_id: schoolId, student_id: person.id, fee_item_id: input.feeItemId, from_on: input.fromOn, to_on: input.toOn ?? null };
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError('OPTIONAL_ENROLLMENT_EXISTS', 'The student is already enrolled in this item from that date.');
    throw e;
  }
}
