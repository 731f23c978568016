import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { vietnamDate } from '../../lib/clock';
import { AuthenticationError, NotFoundError, PermissionError } from '../../http/errors';
import * as repo from './access.repository';

/**
 * Who is asking, resolved from the database on every request so that a revoked role stops
 * working at once, whatever an unexpired token says.
 */
export type StaffRole = 'accountant' | 'school_admin';

export interface Principal {
  personId: string;
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  staff: { schoolId: string; role: StaffRole }[];
  finance: { cityId: string; districtId: string | null }[];
  /** Students (person ids) this person is a verified guardian of today (links of students under 18). */
  wards: string[];
}

export function roleNames(principal: Principal): string[] {
  const names = new Set<string>();
  for (const s of principal.staff) names.add(s.role);
  if (principal.finance.length > 0) names.add('finance_officer');
  if (principal.wards.length > 0) names.add('guardian');
  return [...names].sort();
}

/**
 * `today` is the Vietnam date on the caller's clock (guardianship ends on a student's 18th
 * birthday); requests pass their clock's date, scripts and tests that need no guardian may omit it.
 */
export async function loadPrincipal(db: Db, personalId: string, today: string = vietnamDate(new Date())): Promise<Principal> {
  const person = await repo.findPrincipalRow(db, personalId, today);
  if (!person) throw new AuthenticationError('UNKNOWN_PERSON', 'The signed-in person is not known to this service.');
  return {
    personId: person.id,
    personalId: person.personal_id,
    fullName: person.full_name,
    dateOfBirth: person.date_of_birth,
    staff: person.staff.map((s) => ({ schoolId: s.school_id, role: s.role })),
    finance: person.finance.map((f) => ({ cityId: f.city_id, districtId: f.district_id })),
    wards: person.wards,
  };
}

/** Whether the principal is a verified guardian of this student today. */
export function isGuardianOf(principal: Principal, studentPersonId: string): boolean {
  return principal.wards.includes(studentPersonId);
}

/**
 * Restricts a query on `schools` (aliased `alias`) to the schools the principal may see: schools
 * where they hold a staff role, or within their finance scope (a district, or the whole city).
 */
export function whereSchoolInScope(query: Knex.QueryBuilder, principal: Principal, alias = 'schools'): Knex.QueryBuilder {
  const staffSchoolIds = principal.staff.map((s) => s.schoolId);
  const districtIds = principal.finance.filter((f) => f.districtId !== null).map((f) => f.districtId as string);
  const cityIds = principal.finance.filter((f) => f.districtId === null).map((f) => f.cityId);
  return query.where((q) => {
    q.whereIn(`${alias}.id`, staffSchoolIds)
      .orWhereIn(`${alias}.district_id`, districtIds)
      .orWhereIn(`${alias}.district_id`, (sub) => sub.select('id').from('districts').whereIn('city_id', cityIds));
  });
}

/** Answers 404 (not 403) for a school outside the principal's scope, so ids cannot be probed. */
export async function requireSchoolInScope(db: Db, principal: Principal, schoolId: string): Promise<void> {
  if (principal.staff.some((s) => s.schoolId === schoolId)) return;
  const placement = principal.finance.length > 0 ? await repo.findSchoolPlacement(db, schoolId) : undefined;
  const inFinanceScope =
    placement !== undefined &&
    principal.finance.some((f) => f.cityId === placement.city_id && (f.districtId === null || f.districtId === placement.district_id));
  if (!inFinanceScope) throw new NotFoundError('SCHOOL_NOT_FOUND', 'No such school.', 'school_id');
}

/**
 * Staff-only actions: a school outside scope is 404; a school in scope where the person lacks
 * the role (a finance officer, or an accountant doing an admin's job) is 403.
 */
export async function requireSchoolRole(db: Db, principal: Principal, schoolId: string, roles: StaffRole[]): Promise<void> {
  await requireSchoolInScope(db, principal, schoolId);
  if (!principal.staff.some((s) => s.schoolId === schoolId && roles.includes(s.role))) {
    throw new PermissionError('ROLE_REQUIRED', `This action needs the role ${roles.join(' or ')} at this school.`);
  }
}

/** Schools where the principal holds one of the roles (for queries that span their schools). */
export function schoolsWithRole(principal: Principal, roles: StaffRole[]): string[] {
  return [...new Set(principal.staff.filter((s) => roles.includes(s.role)).map((s) => s.schoolId))];
}
