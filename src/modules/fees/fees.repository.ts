import type { Db } from '../../db/knex';

export interface FeeItemRow {
  id: string;
  school_id: string;
  code: string;
  name: string;
  unit: 'month' | 'school_day' | 'term' | 'year' | 'one_off';
  document_kind: 'receipt' | 'e_invoice' | 'none';
  exemptible: boolean;
  optional: boolean;
  revenue_code: string;
  created_at: Date;
}

export interface PlanRow {
  id: string;
  school_id: string;
  academic_year: string;
  academic_year_id: string;
  grade: number;
  class_id: string | null;
  name: string;
  created_at: Date;
}

export interface VersionRow {
  id: string;
  plan_id: string;
  version: number;
  effective_from: string;
  locked_at: Date | null;
}

export interface VersionItemRow {
  version_id: string;
  fee_item_id: string;
  code: string;
  name: string;
  amount_vnd: string;
}

export async function insertFeeItem(db: Db, row: Omit<FeeItemRow, 'id' | 'created_at'>): Promise<FeeItemRow> {
  const [inserted] = await db('fee_items').insert(row).returning<FeeItemRow[]>('*');
  return inserted!;
}

export async function listFeeItems(db: Db, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<FeeItemRow[]> {
  const q = db('fee_items').where({ school_id: schoolId });
  if (page.startingAfter) q.where('code', '>', db('fee_items').select('code').where({ school_id: schoolId, id: page.startingAfter }));
  return q.orderBy('code').limit(page.limit + 1).select<FeeItemRow[]>('*');
}

export async function findFeeItems(db: Db, schoolId: string, ids: string[]): Promise<FeeItemRow[]> {
  return db('fee_items').where({ school_id: schoolId }).whereIn('id', ids).select<FeeItemRow[]>('*');
}

function plansQuery(db: Db) {
  return db('fee_plans as p')
    .join('academic_years as ay', 'ay.id', 'p.academic_year_id')
    .select('p.id', 'p.school_id', 'ay.code as academic_year', 'p.academic_year_id', 'p.grade', 'p.class_id', 'p.name', 'p.created_at');
}

export async function findPlan(db: Db, schoolId: string, planId: string): Promise<PlanRow | undefined> {
  return plansQuery(db).where({ 'p.school_id': schoolId, 'p.id': planId }).first();
}

export async function listPlans(db: Db, schoolId: string, page: { limit: number; startingAfter?: string }): Promise<PlanRow[]> {
  const q = plansQuery(db).where('p.school_id', schoolId);
  if (page.startingAfter) q.where('p.id', '>', page.startingAfter);
  return q.orderBy('p.id').limit(page.limit + 1);
}

export async function insertPlan(db: Db, row: { schoolId: string; academicYearId: string; grade: number; classId?: string; name: string }): Promise<string> {
  const [r] = await db('fee_plans')
    .insert({ school_id: row.schoolId, academic_year_id: row.academicYearId, grade: row.grade, class_id: row.classId ?? null, name: row.name })
    .returning<{ id: string }[]>('id');
  return r!.id;
}

/** Locks the plan row so versions of one plan are created one at a time. */
export async function lockPlan(db: Db, schoolId: string, planId: string): Promise<void> {
  await db('fee_plans').where({ school_id: schoolId, id: planId }).forUpdate().select('id');
}

export async function listVersions(db: Db, schoolId: string, planIds: string[]): Promise<VersionRow[]> {
  return db('fee_plan_versions').where({ school_id: schoolId }).whereIn('plan_id', planIds).orderBy(['plan_id', 'version']).select<VersionRow[]>('id', 'plan_id', 'version', 'effective_from', 'locked_at');
}

export async function insertVersion(db: Db, row: { schoolId: string; planId: string; version: number; effectiveFrom: string }): Promise<string> {
  const [r] = await db('fee_plan_versions')
    .insert({ school_id: row.schoolId, plan_id: row.planId, version: row.version, effective_from: row.effectiveFrom })
    .returning<{ id: string }[]>('id');
  return r!.id;
}

export async function findVersionForUpdate(db: Db, schoolId: string, planId: string, versionId: string): Promise<VersionRow | undefined> {
  return db('fee_plan_versions').where({ school_id: schoolId, plan_id: planId, id: versionId }).forUpdate().first<VersionRow | undefined>('id', 'plan_id', 'version', 'effective_from', 'locked_at');
}

export async function replaceVersionItems(db: Db, schoolId: string, versionId: string, items: { feeItemId: string; amountVnd: number }[]): Promise<void> {
  await db('fee_plan_version_items').where({ school_id: schoolId, version_id: versionId }).delete();
  await db('fee_plan_version_items').insert(items.map((i) => ({ school_id: schoolId, version_id: versionId, fee_item_id: i.feeItemId, amount_vnd: i.amountVnd })));
}

export async function listVersionItems(db: Db, schoolId: string, versionIds: string[]): Promise<VersionItemRow[]> {
  return db('fee_plan_version_items as vi')
    .join('fee_items as f', function () {
      this.on('f.school_id', '=', 'vi.school_id').andOn('f.id', '=', 'vi.fee_item_id');
    })
    .where('vi.school_id', schoolId)
    .whereIn('vi.version_id', versionIds)
    .orderBy(['vi.version_id', 'f.code'])
    .select<VersionItemRow[]>('vi.version_id', 'vi.fee_item_id', 'f.code', 'f.name', 'vi.amount_vnd');
}

export async function replaceSchoolDays(db: Db, schoolId: string, monthStart: string, monthEnd: string, days: string[]): Promise<void> {
  await db('school_days').where({ school_id: schoolId }).whereBetween('day', [monthStart, monthEnd]).delete();
  if (days.length > 0) await db('school_days').insert(days.map((day) => ({ school_id: schoolId, day })));
}

export async function listSchoolDays(db: Db, schoolId: string, from: string, to: string): Promise<string[]> {
  return db('school_days').where({ school_id: schoolId }).whereBetween('day', [from, to]).orderBy('day').pluck('day');
}

export async function insertOptionalEnrollment(db: Db, row: { schoolId: string; personId: string; feeItemId: string; fromOn: string; toOn?: string }): Promise<{ id: string }> {
  const [r] = await db('optional_item_enrollments')
    .insert({ school_id: row.schoolId, person_id: row.personId, fee_item_id: row.feeItemId, from_on: row.fromOn, to_on: row.toOn ?? null })
    .returning<{ id: string }[]>('id');
  return r!;
}

/** The last day of any period invoiced (not void) with these versions. */
export async function lastInvoicedDay(db: Db, schoolId: string, versionIds: string[]): Promise<string | null> {
  const [row] = await db('invoices').where({ school_id: schoolId }).whereIn('plan_version_id', versionIds).whereNot({ status: 'void' }).max<{ max: string | null }[]>('period_end as max');
  return row?.max ?? null;
}

export async function gradesOffered(db: Db, schoolId: string, academicYearId: string): Promise<number[]> {
  return db('classes').where({ school_id: schoolId, academic_year_id: academicYearId }).distinct('grade').pluck('grade');
}
