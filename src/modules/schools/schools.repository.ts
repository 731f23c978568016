import type { Knex } from 'knex';
import type { Db } from '../../db/knex';

export interface SchoolRow {
  id: string;
  code: string;
  name: string;
  level: string;
  tax_code: string;
  address: string;
  district_id: string;
  district_name: string;
  city_id: string;
  city_name: string;
}

export interface ClassRow {
  id: string;
  school_id: string;
  academic_year: string;
  grade: number;
  name: string;
  student_count: number;
}

function schoolsQuery(db: Db): Knex.QueryBuilder {
  return db('schools')
    .join('districts', 'districts.id', 'schools.district_id')
    .join('cities', 'cities.id', 'districts.city_id')
    .select(
      'schools.id',
      'schools.code',
      'schools.name',
      'schools.level',
      'schools.tax_code',
      'schools.address',
      'schools.district_id',
      'districts.name as district_name',
      'districts.city_id',
      'cities.name as city_name',
    );
}

/** Schools ordered by code; `scope` narrows the query to what the caller may see. */
export async function listSchools(
  db: Db,
  scope: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
  page: { limit: number; startingAfter?: string; districtId?: string },
): Promise<SchoolRow[]> {
  const query = scope(schoolsQuery(db));
  if (page.districtId) query.where('schools.district_id', page.districtId);
  if (page.startingAfter) query.where('schools.code', '>', db('schools').select('code').where('id', page.startingAfter));
  return query.orderBy('schools.code').limit(page.limit + 1);
}

export async function findSchool(db: Db, schoolId: string): Promise<SchoolRow | undefined> {
  return schoolsQuery(db).where('schools.id', schoolId).first();
}

/** Classes of a school with their year and current head count (the one place that shape is built). */
function classesQuery(db: Db, schoolId: string) {
  return db('classes as c')
    .join('academic_years as ay', 'ay.id', 'c.academic_year_id')
    .where('c.school_id', schoolId)
    .select(
      'c.id',
      'c.school_id',
      'ay.code as academic_year',
      'c.grade',
      'c.name',
      db.raw(`(SELECT count(*)::int FROM enrollments e WHERE e.school_id = c.school_id AND e.class_id = c.id AND e.left_on IS NULL) AS student_count`),
    );
}

/** Classes ordered by grade then name; the cursor is the last class id seen. */
export async function listClasses(db: Db, schoolId: string, page: { limit: number; startingAfter?: string; academicYear?: string }): Promise<ClassRow[]> {
  const query = classesQuery(db, schoolId);
  if (page.academicYear) query.where('ay.code', page.academicYear);
  if (page.startingAfter) {
    query.whereRaw('(ay.code, c.grade, c.name, c.id) > (SELECT ay2.code, c2.grade, c2.name, c2.id FROM classes c2 JOIN academic_years ay2 ON ay2.id = c2.academic_year_id WHERE c2.school_id = ? AND c2.id = ?)', [schoolId, page.startingAfter]);
  }
  return query.orderBy([{ column: 'ay.code' }, { column: 'c.grade' }, { column: 'c.name' }, { column: 'c.id' }]).limit(page.limit + 1);
}

export async function findClass(db: Db, schoolId: string, classId: string): Promise<ClassRow | undefined> {
  return classesQuery(db, schoolId).where('c.id', classId).first();
}

export interface CollectionAccountRow {
  id: string;
  school_id: string;
  bank_bin: string;
  account_number: string;
  account_name: string;
  is_default: boolean;
}

export async function listCollectionAccounts(db: Db, schoolId: string): Promise<CollectionAccountRow[]> {
  return db('collection_accounts').where({ school_id: schoolId }).orderBy([{ column: 'is_default', order: 'desc' }, { column: 'id' }]).select<CollectionAccountRow[]>('id', 'school_id', 'bank_bin', 'account_number', 'account_name', 'is_default');
}

export async function findDefaultCollectionAccount(db: Db, schoolId: string): Promise<CollectionAccountRow | undefined> {
  return db('collection_accounts').where({ school_id: schoolId, is_default: true }).first<CollectionAccountRow | undefined>('id', 'school_id', 'bank_bin', 'account_number', 'account_name', 'is_default');
}

export async function insertCollectionAccount(db: Db, row: Omit<CollectionAccountRow, 'id'>): Promise<CollectionAccountRow> {
  if (row.is_default) await db('collection_accounts').where({ school_id: row.school_id, is_default: true }).update({ is_default: false });
  const [inserted] = await db('collection_accounts').insert(row).returning<CollectionAccountRow[]>(['id', 'school_id', 'bank_bin', 'account_number', 'account_name', 'is_default']);
  return inserted!;
}
