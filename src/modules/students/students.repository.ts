import type { Db } from '../../db/knex';

export interface StudentEnrollmentRow {
  person_id: string;
  personal_id: string;
  full_name: string;
  date_of_birth: string;
  gender: 'male' | 'female';
  enrollment_id: string;
  school_id: string;
  class_id: string;
  class_name: string;
  grade: number;
  academic_year: string;
  enrolled_on: string;
  left_on: string | null;
}

function enrollmentQuery(db: Db) {
  return db('enrollments as e')
    .join('people as p', 'p.id', 'e.person_id')
    .join('classes as c', function () {
      this.on('c.school_id', '=', 'e.school_id').andOn('c.id', '=', 'e.class_id');
    })
    .join('academic_years as ay', 'ay.id', 'c.academic_year_id')
    .select(
      'p.id as person_id',
      'p.personal_id',
      'p.full_name',
      'p.date_of_birth',
      'p.gender',
      'e.id as enrollment_id',
      'e.school_id',
      'e.class_id',
      'c.name as class_name',
      'c.grade',
      'ay.code as academic_year',
      'e.enrolled_on',
      'e.left_on',
    );
}

export async function insertEnrollment(db: Db, row: { schoolId: string; classId: string; personId: string; enrolledOn: string }): Promise<string> {
  const [inserted] = await db('enrollments')
    .insert({ school_id: row.schoolId, class_id: row.classId, person_id: row.personId, enrolled_on: row.enrolledOn })
    .returning<{ id: string }[]>('id');
  return inserted!.id;
}

export async function findEnrollment(db: Db, schoolId: string, enrollmentId: string): Promise<StudentEnrollmentRow | undefined> {
  return enrollmentQuery(db).where({ 'e.school_id': schoolId, 'e.id': enrollmentId }).first();
}

/** Transaction-scoped lock on one person's enrollments (released at commit or rollback). */
export async function lockPersonForEnrollment(db: Db, personId: string): Promise<void> {
  await db.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`enrollment:${personId}`]);
}

/** The person's open enrollment at any school (a student attends one school at a time). */
export async function findOpenEnrollments(db: Db, personId: string): Promise<{ school_id: string; class_id: string; id: string }[]> {
  return db('enrollments').where({ person_id: personId }).whereNull('left_on').select('school_id', 'class_id', 'id');
}

export async function listEnrollmentsOfPerson(db: Db, personId: string, schoolIds: string[]): Promise<StudentEnrollmentRow[]> {
  return enrollmentQuery(db).where('e.person_id', personId).whereIn('e.school_id', schoolIds).orderBy([{ column: 'ay.code', order: 'desc' }, { column: 'e.enrolled_on', order: 'desc' }]);
}

/**
 * Current students of a class in roster order: Vietnamese rosters sort by given name (the last
 * word), then by the full name. The cursor is the last student (person) id seen.
 */
export async function listClassEnrollments(db: Db, schoolId: string, classId: string, page: { limit: number; startingAfter?: string }): Promise<StudentEnrollmentRow[]> {
  const givenName = `regexp_replace(p.full_name, '^.*\\s', '')`;
  const query = enrollmentQuery(db).where({ 'e.school_id': schoolId, 'e.class_id': classId }).whereNull('e.left_on');
  if (page.startingAfter) {
    query.whereRaw(
      `(${givenName}, p.full_name, p.id) > (SELECT regexp_replace(p2.full_name, '^.*\\s', ''), p2.full_name, p2.id FROM enrollments e2 JOIN people p2 ON p2.id = e2.person_id WHERE e2.school_id = ? AND e2.class_id = ? AND e2.person_id = ?)`,
      [schoolId, classId, page.startingAfter],
    );
  }
  return query.orderByRaw(`${givenName}, p.full_name, p.id`).limit(page.limit + 1);
}
