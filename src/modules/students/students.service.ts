import type { Knex } from 'knex';
import { ConflictError, type ErrorDetail, NotFoundError, ValidationError } from '../../http/errors';
import { toPage, type Page } from '../../http/validate';
import { type Clock, isCalendarDate, vietnamDate, vietnamYear } from '../../lib/clock';
import { findPersonalIdProblem, type PersonalIdProblem } from '../../lib/personal-id';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type Principal, requireSchoolRole, schoolsWithRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { findOrRecordPerson, findPersonByPersonalId, normalizeName } from '../people/people.service';
import { getClass } from '../schools/schools.service';
import { readRoster } from './roster-csv';
import * as repo from './students.repository';

export type { StudentEnrollmentRow } from './students.repository';

const STAFF = ['accountant', 'school_admin'] as const;
/** Students of K-12 schools: born at most 30 and at least 2 years before the current year. */
const STUDENT_AGE_RANGE = { oldest: 30, youngest: 2 };

export interface StudentContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
  requestId?: string;
}

export interface StudentInput {
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'male' | 'female' | null;
}

const PERSONAL_ID_MESSAGES: Record<PersonalIdProblem, string> = {
  PERSONAL_ID_FORMAT: 'must be 12 digits',
  PERSONAL_ID_PROVINCE: 'starts with an unknown province code',
  PERSONAL_ID_BIRTH_YEAR: 'encodes a birth year impossible for a student',
  PERSONAL_ID_BIRTH_YEAR_MISMATCH: 'encodes a birth year different from date_of_birth',
};

/** Every reason a student record cannot be accepted (all of them, not only the first). */
export function findStudentProblems(input: StudentInput, now: Date): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const currentYear = vietnamYear(now);
  const dobValid = isCalendarDate(input.dateOfBirth) && input.dateOfBirth <= vietnamDate(now);
  const idProblem = findPersonalIdProblem(input.personalId, {
    currentYear,
    dateOfBirth: dobValid ? input.dateOfBirth : undefined,
    minBirthYear: currentYear - STUDENT_AGE_RANGE.oldest,
    maxBirthYear: currentYear - STUDENT_AGE_RANGE.youngest,
  });
  if (idProblem) problems.push({ param: 'personal_id', code: idProblem, message: `personal_id ${PERSONAL_ID_MESSAGES[idProblem]}` });
  const name = normalizeName(input.fullName);
  if (name.length === 0 || name.length > 200) problems.push({ param: 'full_name', code: 'FULL_NAME_INVALID', message: 'full_name must be 1-200 characters' });
  if (!dobValid) problems.push({ param: 'date_of_birth', code: 'DATE_OF_BIRTH_INVALID', message: 'date_of_birth must be a past date (YYYY-MM-DD or DD/MM/YYYY)' });
  if (input.gender === null) problems.push({ param: 'gender', code: 'GENDER_INVALID', message: 'gender must be male or female (Nam/Nữ)' });
  return problems;
}

/**
 * Records the person (or finds them, checking name and birth date agree) and enrols them in the
 * class. A student already in an open enrollment elsewhere must leave it first. Runs inside trx.
 */
async function enrolStudent(trx: Knex.Transaction, schoolId: string, classId: string, input: StudentInput & { gender: 'male' | 'female' }, enrolledOn: string) {
  const person = await findOrRecordPerson(trx, { personalId: input.personalId, fullName: input.fullName, dateOfBirth: input.dateOfBirth, gender: input.gender });
  // One open enrollment across all schools cannot be a unique index without breaking the tenancy
  // rule (the key would not lead with school_id), so enrolments of one person are serialized here.
  await repo.lockPersonForEnrollment(trx, person.id);
  const open = await repo.findOpenEnrollments(trx, person.id);
  const sameClass = open.find((e) => e.school_id === schoolId && e.class_id === classId);
  if (sameClass) return { person, enrollmentId: sameClass.id, created: false };
  if (open.length > 0) throw new ConflictError('STUDENT_ALREADY_ENROLLED', 'This student is already enrolled in another class; end that enrollment first.', { param: 'personal_id' });
  try {
    const enrollmentId = await repo.insertEnrollment(trx, { schoolId, classId, personId: person.id, enrolledOn });
    return { person, enrollmentId, created: true };
  } catch (e) {
    if (isUniqueViolation(e)) throw new ConflictError('STUDENT_ALREADY_ENROLLED', 'This student is already enrolled in another class; end that enrollment first.', { param: 'personal_id' });
    throw e;
  }
}

/** Creates one student in a class (accountant or school admin of that school). */
export async function createStudent(
  ctx: StudentContext,
  schoolId: string,
  body: { classId: string; enrolledOn?: string } & StudentInput,
): Promise<{ student: repo.StudentEnrollmentRow; created: boolean }> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const now = ctx.clock.now();
  const problems = findStudentProblems(body, now);
  if (problems.length > 0) throw new ValidationError('STUDENT_INVALID', problems[0]!.message, { param: problems[0]!.param, details: problems });
  const gender = body.gender as 'male' | 'female';

  return ctx.db.transaction(async (trx) => {
    await getClass(trx, schoolId, body.classId);
    const enrolled = await enrolStudent(trx, schoolId, body.classId, { ...body, gender }, body.enrolledOn ?? vietnamDate(now));
    if (!enrolled.created) throw new ConflictError('STUDENT_ALREADY_IN_CLASS', 'This student is already in this class.', { param: 'personal_id' });
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'student.enrolled', subjectType: 'enrollment', subjectId: enrolled.enrollmentId, requestId: ctx.requestId, at: now });
    const student = await repo.findEnrollment(trx, schoolId, enrolled.enrollmentId);
    return { student: student!, created: true };
  });
}

export interface RosterRowOutcome {
  line: number;
  personal_id_masked: string | null;
  status: 'imported' | 'unchanged' | 'failed';
  student_id?: string;
  errors?: ErrorDetail[];
}

export interface RosterReport {
  class_id: string;
  total_rows: number;
  imported: number;
  unchanged: number;
  failed: number;
  rows: RosterRowOutcome[];
}

function maskOrNull(personalId: string): string | null {
  return /^\d{12}$/.test(personalId) ? `${personalId.slice(0, 3)}******${personalId.slice(9)}` : null;
}

/**
 * Imports a class roster: rows that pass validation land (each in its own savepoint, so a late
 * conflict on one row leaves the others); rows that fail change nothing and are reported with every
 * reason. A file whose rows all fail is refused as a whole with 400. Re-importing the same file
 * changes nothing and reports the rows as unchanged.
 */
export async function importRoster(ctx: StudentContext, schoolId: string, classId: string, csvText: string, enrolledOn?: string): Promise<RosterReport> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const now = ctx.clock.now();
  await getClass(ctx.db, schoolId, classId);
  const rows = readRoster(csvText);

  const outcomes: RosterRowOutcome[] = [];
  const firstLineOf = new Map<string, number>();
  const valid: { row: (typeof rows)[number]; outcome: RosterRowOutcome }[] = [];
  for (const row of rows) {
    const errors = findStudentProblems(row, now);
    const earlier = firstLineOf.get(row.personalId);
    if (earlier !== undefined) errors.push({ param: 'personal_id', code: 'DUPLICATE_IN_FILE', message: `personal_id repeats line ${earlier}` });
    else firstLineOf.set(row.personalId, row.line);
    const outcome: RosterRowOutcome = { line: row.line, personal_id_masked: maskOrNull(row.personalId), status: 'failed' };
    if (errors.length > 0) outcome.errors = errors;
    else valid.push({ row, outcome });
    outcomes.push(outcome);
  }

  if (valid.length > 0) {
    await ctx.db.transaction(async (trx) => {
      for (const { row, outcome } of valid) {
        try {
          const enrolled = await trx.transaction((savepoint) =>
            enrolStudent(savepoint, schoolId, classId, { ...row, gender: row.gender as 'male' | 'female' }, enrolledOn ?? vietnamDate(now)),
          );
          outcome.status = enrolled.created ? 'imported' : 'unchanged';
          outcome.student_id = enrolled.person.id;
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
          outcome.errors = [{ param: e.options.param, code: e.code, message: e.message }];
        }
      }
      const imported = valid.filter((v) => v.outcome.status === 'imported').length;
      if (imported > 0) {
        await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'roster.imported', subjectType: 'class', subjectId: classId, details: { imported }, requestId: ctx.requestId, at: now });
      }
    });
  }

  const report: RosterReport = {
    class_id: classId,
    total_rows: rows.length,
    imported: outcomes.filter((o) => o.status === 'imported').length,
    unchanged: outcomes.filter((o) => o.status === 'unchanged').length,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    rows: outcomes,
  };
  if (report.failed === report.total_rows) {
    throw new ValidationError('ROSTER_ROWS_INVALID', 'No row of the roster could be imported.', { param: 'body', details: report });
  }
  return report;
}

/** A person with an enrollment (current or past) at the school, found by personal ID; 404 otherwise. */
export async function findStudentAtSchool(db: Knex, schoolId: string, personalId: string): Promise<{ id: string }> {
  const person = await findPersonByPersonalId(db, personalId);
  const enrolled = person ? await db('enrollments').where({ school_id: schoolId, person_id: person.id }).first('id') : undefined;
  if (!person || !enrolled) throw new NotFoundError('STUDENT_NOT_FOUND', 'No such student at this school.', 'personal_id');
  return person;
}

/**
 * A student by personal ID, for staff of a school where the student is or was enrolled; anyone
 * else gets 404. Each read is audited.
 */
export async function getStudentByPersonalId(ctx: StudentContext, personalId: string): Promise<repo.StudentEnrollmentRow[]> {
  const schoolIds = schoolsWithRole(ctx.principal, [...STAFF]);
  const person = schoolIds.length > 0 ? await findPersonByPersonalId(ctx.db, personalId) : undefined;
  const enrollments = person ? await repo.listEnrollmentsOfPerson(ctx.db, person.id, schoolIds) : [];
  if (enrollments.length === 0) throw new NotFoundError('STUDENT_NOT_FOUND', 'No such student.', 'personal_id');
  const now = ctx.clock.now();
  for (const schoolId of new Set(enrollments.map((e) => e.school_id))) {
    await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'student.viewed', subjectType: 'person', subjectId: person!.id, requestId: ctx.requestId, at: now });
  }
  return enrollments;
}

/** The current students of a class, for that school's staff. The read is audited. */
export async function listClassStudents(ctx: StudentContext, schoolId: string, classId: string, page: { limit: number; startingAfter?: string }): Promise<Page<repo.StudentEnrollmentRow>> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  await getClass(ctx.db, schoolId, classId);
  const result = toPage(await repo.listClassEnrollments(ctx.db, schoolId, classId, page), page.limit);
  await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'class.students_listed', subjectType: 'class', subjectId: classId, details: { count: result.data.length }, requestId: ctx.requestId, at: ctx.clock.now() });
  return result;
}
